"""OPML import and export: a hand-written real-world subscription list with nested folders and broken
entries, the round trip of our own export (HTML and JSON sources included), hostile documents."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from lxml import etree

from news_harvester.config import SourceSpec, load_sources
from news_harvester.sources import opml
from news_harvester.sources.admin import add_sources, file_defaults
from news_harvester.sources.opml import NH_NS, OpmlError, parse_opml, plan_import, slug, to_opml, url_key
from procs import run_cli

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "sources.yaml"
SHIPPED_COUNT = len(load_sources(SHIPPED).sources)

# As a feed reader (Inoreader / Feedly style) exports it: OPML 1.0, folders nested two deep, `text`
# without `title` on some outlines, a feed:// link, an &amp; in a URL, a bookmark that is not a feed,
# and the usual debris: an empty xmlUrl, a relative one, one that is not a URL, a duplicate.
READER_OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head>
    <title>Subscriptions of 秘书处 in Inoreader</title>
    <dateCreated>Tue, 11 Jun 2024 08:00:00 +0000</dateCreated>
  </head>
  <body>
    <outline text="Trade policy" title="Trade policy">
      <outline text="WTO | News" title="WTO | News" type="rss"
               xmlUrl="https://www.wto.org/library/rss/latest_news_e.xml" htmlUrl="https://www.wto.org/"/>
      <outline text="Regional" title="Regional">
        <outline text="ASEAN Briefing" title="ASEAN Briefing" type="rss"
                 xmlUrl="https://www.aseanbriefing.com/news/feed/" htmlUrl="https://www.aseanbriefing.com/news/"/>
        <outline text="Hinrich Foundation — Trade" type="rss" language="en-US"
                 xmlUrl="https://www.hinrichfoundation.com/rss/?type=research&amp;lang=en"/>
      </outline>
    </outline>
    <outline text="科技" title="科技">
      <outline text="36氪" title="36氪" type="rss" xmlUrl="https://36kr.com/feed" htmlUrl="https://36kr.com"/>
      <outline text="少数派" type="rss" xmlUrl="feed://sspai.com/feed"/>
      <outline text="36氪 (again)" type="rss" xmlUrl="http://36kr.com/feed/"/>
    </outline>
    <outline text="Empty folder" title="Empty folder"/>
    <outline text="A bookmark" type="link" url="https://www.example.com/page.html"/>
    <outline text="Broken URL" type="rss" xmlUrl="not a url"/>
    <outline text="Relative" type="rss" xmlUrl="/feed.xml"/>
    <outline text="Empty" type="rss" xmlUrl=""/>
    <outline text="Bad schedule" type="rss" xmlUrl="https://bad.example/rss" xmlns:nh="https://news-harvester/opml"
             nh:schedule="10s"/>
  </body>
</opml>
"""


def test_reader_opml_with_nested_folders_and_broken_entries():
    entries, problems = parse_opml(READER_OPML)

    assert [(e["id"], e["name"], e["url"], e.get("topics")) for e in entries] == [
        ("wto-news", "WTO | News", "https://www.wto.org/library/rss/latest_news_e.xml", ["Trade policy"]),
        ("asean-briefing", "ASEAN Briefing", "https://www.aseanbriefing.com/news/feed/", ["Trade policy", "Regional"]),
        (
            "hinrich-foundation-trade",
            "Hinrich Foundation — Trade",
            "https://www.hinrichfoundation.com/rss/?type=research&lang=en",
            ["Trade policy", "Regional"],
        ),
        ("36kr-com", "36氪", "https://36kr.com/feed", ["科技"]),  # no Latin letters in the title: the host
        ("sspai-com", "少数派", "http://sspai.com/feed", ["科技"]),  # feed:// read as http://
        ("36-again", "36氪 (again)", "http://36kr.com/feed/", ["科技"]),
    ]
    assert all(e["kind"] == "feed" for e in entries)
    assert entries[2]["language"] == "en"
    assert [(p.line, p.title, p.reason) for p in problems] == [
        (24, "A bookmark", "no xmlUrl: not a feed subscription (type 'link')"),
        (25, "Broken URL", "xmlUrl 'not a url' is not an absolute http(s) URL"),
        (26, "Relative", "xmlUrl '/feed.xml' is not an absolute http(s) URL"),
        (27, "Empty", "no xmlUrl: not a feed subscription (type 'rss')"),
        (29, "Bad schedule", "field schedule = '10s': Value error, interval shorter than 1m is impolite to the source"),
    ]
    assert str(problems[1]) == "line 25: Broken URL: xmlUrl 'not a url' is not an absolute http(s) URL"


def test_plan_skips_configured_and_repeated_urls_and_makes_ids_unique():
    entries, _ = parse_opml(READER_OPML)
    existing = load_sources(SHIPPED).sources
    entries.append({"id": "edps-press", "name": "EDPS 2", "kind": "feed", "url": "https://other.example/edps.xml"})

    plan = plan_import(entries, existing, {"schedule": "2h", "timezone": "Asia/Shanghai", "language": "zh"})

    assert [e["id"] for e in plan.add] == [
        "asean-briefing",
        "hinrich-foundation-trade",
        "36kr-com",
        "sspai-com",
        "edps-press-2",
    ]
    assert [(s.entry["name"], s.reason) for s in plan.skipped] == [
        ("WTO | News", "already configured as 'wto-news'"),
        ("36氪 (again)", "already configured as '36kr-com'"),  # http/https and a trailing slash do not count
    ]
    assert plan.refused == []


def test_cli_import_of_a_reader_opml(tmp_path: Path):
    shutil.copyfile(SHIPPED, tmp_path / "sources.yaml")
    old = (tmp_path / "sources.yaml").read_text(encoding="utf-8")
    (tmp_path / "reader.opml").write_text(READER_OPML, encoding="utf-8")

    dry = run_cli(tmp_path, "sources", "import-opml", "reader.opml", "--dry-run", "--json")
    assert dry.returncode == 1  # some outlines were refused
    report = json.loads(dry.stdout)
    assert [i["id"] for i in report["imported"]] == [
        "asean-briefing",
        "hinrich-foundation-trade",
        "36kr-com",
        "sspai-com",
    ]
    assert [s["reason"] for s in report["skipped"]] == [
        "already configured as 'wto-news'",
        "already configured as '36kr-com'",
    ]
    assert [(r["line"], r["title"]) for r in report["refused"]] == [
        (24, "A bookmark"),
        (25, "Broken URL"),
        (26, "Relative"),
        (27, "Empty"),
        (29, "Bad schedule"),
    ]
    assert (tmp_path / "sources.yaml").read_text(encoding="utf-8") == old  # dry run: nothing written

    done = run_cli(tmp_path, "sources", "import-opml", "reader.opml")
    assert done.returncode == 1
    assert "imported 4, skipped 2 (already configured), refused 5" in done.stdout
    assert "refused: line 25: Broken URL: xmlUrl 'not a url' is not an absolute http(s) URL" in done.stderr
    new = (tmp_path / "sources.yaml").read_text(encoding="utf-8")
    assert new.startswith(old)  # appended; the file before it byte for byte
    assert "  - id: asean-briefing\n    name: ASEAN Briefing\n    kind: feed\n" in new
    assert "    topics: [Trade policy, Regional]\n" in new
    config = load_sources(tmp_path / "sources.yaml")
    assert len(config.sources) == SHIPPED_COUNT + 4 and config.get("sspai-com").schedule == "2h"  # type: ignore[union-attr]

    again = run_cli(tmp_path, "sources", "import-opml", "reader.opml", "--json")
    assert json.loads(again.stdout)["imported"] == []
    assert (tmp_path / "sources.yaml").read_text(encoding="utf-8") == new


def test_export_is_standard_opml_with_our_settings_in_a_namespace():
    config = load_sources(SHIPPED)

    text = to_opml(config.sources)

    root = etree.fromstring(text.encode("utf-8"))
    assert root.tag == "opml" and root.get("version") == "2.0" and root.nsmap["nh"] == NH_NS
    assert root.findtext("head/title") == "news_harvester sources"
    outlines = root.findall("body/outline")
    assert len(outlines) == len(config.sources)
    wto = next(o for o in outlines if o.get(f"{{{NH_NS}}}id") == "wto-news")
    assert {k: wto.get(k) for k in ("type", "text", "title", "xmlUrl", "htmlUrl")} == {
        "type": "rss",
        "text": "WTO",
        "title": "WTO",
        "xmlUrl": "https://www.wto.org/library/rss/latest_news_e.xml",
        "htmlUrl": "https://www.wto.org/",
    }
    assert (wto.get(f"{{{NH_NS}}}kind"), wto.get(f"{{{NH_NS}}}schedule"), wto.get(f"{{{NH_NS}}}weight")) == (
        "feed",
        "3h",
        "6",
    )
    policy = next(o for o in outlines if o.get(f"{{{NH_NS}}}id") == "mofcom-policy")
    assert policy.get("type") == "link" and policy.get("xmlUrl") is None  # not offered to readers as a feed
    spec = json.loads(policy.get(f"{{{NH_NS}}}spec"))
    assert spec["selectors"]["item"][0] == "ul.policy-list > li" and spec["pagination"] == {"pages": 2}
    assert "language" not in spec  # defaults are left out
    miit = next(o for o in outlines if o.get(f"{{{NH_NS}}}id") == "miit-policy")
    assert miit.get(f"{{{NH_NS}}}enabled") == "false"


def test_round_trip_recreates_identical_sources(tmp_path: Path):
    config = load_sources(SHIPPED)
    target = tmp_path / "sources.yaml"
    # another file, with other defaults: the import must still give each source the same settings
    target.write_text("defaults:\n  schedule: 30m\n  language: en\nsources: []\n", encoding="utf-8")

    entries, problems = parse_opml(to_opml(config.sources))
    plan = plan_import(entries, load_sources(target).sources, file_defaults(target))
    add_sources(target, plan.add)

    assert problems == [] and plan.skipped == [] and plan.refused == []
    assert load_sources(target).sources == config.sources


def test_cli_export_then_import_round_trip(tmp_path: Path):
    shutil.copyfile(SHIPPED, tmp_path / "sources.yaml")
    exported = run_cli(tmp_path, "sources", "export-opml", "-o", "all.opml")
    assert exported.returncode == 0, exported.stderr
    stdout = run_cli(tmp_path, "sources", "export-opml")
    assert stdout.stdout == (tmp_path / "all.opml").read_text(encoding="utf-8")

    other = tmp_path / "other"
    other.mkdir()
    (other / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    imported = run_cli(other, "sources", "import-opml", str(tmp_path / "all.opml"))
    assert imported.returncode == 0, imported.stderr
    assert load_sources(other / "sources.yaml").sources == load_sources(SHIPPED).sources

    same = run_cli(tmp_path, "sources", "import-opml", "all.opml", "--json")
    assert same.returncode == 0 and len(json.loads(same.stdout)["skipped"]) == SHIPPED_COUNT


# --------------------------------------------------------------------------- hostile and broken documents

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<opml version="2.0"><body><outline text="&lol9;" type="rss" xmlUrl="https://a.example/rss"/></body></opml>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&secret;" type="rss" xmlUrl="https://a.example/rss"/></body></opml>
"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE, BILLION_LAUGHS.encode("utf-16"), XXE.encode("utf-32")])
def test_entity_declarations_are_refused(document):
    started = time.monotonic()
    with pytest.raises(OpmlError, match="DOCTYPE or entity") as caught:
        parse_opml(document)
    assert caught.value.code == "opml.invalid"
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE])
def test_the_parser_itself_expands_nothing(document, monkeypatch: pytest.MonkeyPatch):
    """Defence in depth: with the textual DOCTYPE check switched off, the parser neither expands
    entities nor reads files, and the document is still refused."""
    import re

    monkeypatch.setattr(opml, "_HOSTILE_RE", re.compile(rb"(?!)"))
    started = time.monotonic()
    with pytest.raises(OpmlError) as caught:
        parse_opml(document)
    assert "root:" not in str(caught.value)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("this is not xml", "not well-formed XML"),
        ("<opml version='2.0'><body><outline text='x'", "not well-formed XML"),
        ("<rss version='2.0'><channel/></rss>", "the root element is <rss>, not <opml>"),
        ("<opml version='2.0'><head/></opml>", "no <body> element"),
    ],
)
def test_unreadable_documents(document, message):
    with pytest.raises(OpmlError, match=message):
        parse_opml(document)


def test_cli_reports_a_hostile_file_without_touching_sources(tmp_path: Path):
    shutil.copyfile(SHIPPED, tmp_path / "sources.yaml")
    (tmp_path / "evil.opml").write_text(BILLION_LAUGHS, encoding="utf-8")
    before = (tmp_path / "sources.yaml").read_bytes()
    result = run_cli(tmp_path, "sources", "import-opml", "evil.opml")
    assert result.returncode == 1
    assert "DOCTYPE or entity declarations refused" in result.stderr and "[opml.invalid]" in result.stderr
    assert (tmp_path / "sources.yaml").read_bytes() == before


def test_nh_spec_errors_are_listed():
    document = f"""<opml version="2.0" xmlns:nh="{NH_NS}"><body>
      <outline text="a" nh:spec="{{not json"/>
      <outline text="b" nh:spec="[1, 2]"/>
      <outline text="c"
        nh:spec='{{"id": "c", "name": "C", "kind": "html", "url": "http://c.example/", "pagination": {{"pages": 0}}}}'/>
      <outline text="d" nh:spec='{{"id": "d", "name": "D", "kind": "html", "url": "https://d.example/"}}'/>
    </body></opml>"""
    entries, problems = parse_opml(document)
    assert [(e["id"], e["url"], e["language"], e["schedule"]) for e in entries] == [
        ("d", "https://d.example/", "zh", "1h")  # complete: SourceSpec's defaults written out
    ]
    assert plan_import(entries, []).add == [{"id": "d", "name": "D", "kind": "html", "url": "https://d.example/"}]
    assert [p.reason.split(" (")[0] for p in problems] == [
        "nh:spec is not valid JSON",
        "nh:spec is not a JSON object",
        "field pagination.pages = 0: Input should be greater than or equal to 1",
    ]


def test_ids_and_url_keys():
    assert slug("EDPS – Press releases") == "edps-press-releases"
    assert slug("商务部网站") == ""
    assert slug("Ærø Ünïcode") == "r-unicode"  # letters without an ASCII base are dropped
    assert (
        url_key("HTTPS://WWW.Example.org/feed/") == url_key("http://www.example.org/feed#x") == "www.example.org/feed"
    )
    assert url_key("https://a.example/x?b=1") != url_key("https://a.example/x?b=2")
    entries, _ = parse_opml(
        "<opml><body>"
        + '<outline text="Same" xmlUrl="https://s.example/1"/>' * 2
        + '<outline text="Same" xmlUrl="https://s.example/2"/></body></opml>'
    )
    assert [e["id"] for e in entries] == ["same", "same-2", "same-3"]
    assert all(SourceSpec.model_validate(e) for e in entries)
