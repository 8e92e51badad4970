"""Score ``sources discover`` on real list pages against the frozen, hand-judged truth in bench/discovery_truth/.

For every page: the kind discovery chooses, and of the items a person listed on the page, how many the chosen
way of reading it yields (recall) and how many of its items are among them (precision). HTML pages go through
the same candidates ``discover`` tries (the list's selectors, then article links by their addresses) with the
first that yields items winning, exactly as a harvest would parse the page afterwards; JSON shells are checked
for the data source they name. The peer is automatic link discovery alone (what a source without selectors
gets at harvest time), measured in the same run.

    .venv/bin/python bench/discovery.py            # the table; exit 1 when a page misses recall 0.90
    .venv/bin/python bench/discovery.py --json     # one JSON object

Runs in a few seconds, in process, no network (the pages are files; see the truth README for their origins).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from news_harvester.errors import ParseError
from news_harvester.parse.listing import parse_listing
from news_harvester.parse.page_leads import read_leads
from news_harvester.source_spec import SourceSpec
from news_harvester.sources.discover import html_candidates

ROOT = Path(__file__).resolve().parent.parent
TRUTH = ROOT / "bench" / "discovery_truth"
ZONE = ZoneInfo("Asia/Shanghai")
AIM = 0.90


def _key(url: str) -> str:
    """Match by URL with the scheme normalised (the truth README: news.163.com mixes http and https)."""
    return url.split("://", 1)[-1].rstrip("/")


def _discovered(html: str, url: str) -> tuple[str, str, list[str]]:
    """(kind, how, item URLs) as ``discover`` would read an HTML page with no feed or JSON behind it."""
    for candidate in html_candidates(html, url, ZONE):
        spec = SourceSpec(id="bench", name="bench", **candidate.entry)
        selectors = spec.selectors.model_dump() if spec.selectors else None
        try:
            items = parse_listing(html, url, ZONE, selectors)
        except ParseError:
            continue
        return candidate.kind, candidate.reasons[0].code, [i.url for i in items]
    return "none", "-", []


def _links_only(html: str, url: str) -> list[str]:
    try:
        return [i.url for i in parse_listing(html, url, ZONE, None)]
    except ParseError:
        return []


def score(truth_file: Path) -> dict[str, object]:
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    page = (ROOT / truth["file"]).resolve()
    html = page.read_text(encoding="utf-8", errors="replace")
    url = truth["page_url"]
    wanted = {_key(i["url"]) for i in truth["items"]}
    started = time.perf_counter()
    if truth["expected_kind"] == "json":
        leads = read_leads(html, url)
        kind = "json" if leads.datasource is not None or leads.json_urls else "html"
        how, found = ("json.datasource" if leads.datasource else "-"), []
    else:
        kind, how, found = _discovered(html, url)
    elapsed = time.perf_counter() - started
    got = {_key(u) for u in found}
    peer = {_key(u) for u in _links_only(html, url)}
    recall = len(wanted & got) / len(wanted) if wanted else 1.0
    precision = len(wanted & got) / len(got) if got else (1.0 if not wanted else 0.0)
    return {
        "page": truth_file.stem,
        "expected_kind": truth["expected_kind"],
        "kind": kind,
        "how": how,
        "listed": len(wanted),
        "found": len(got),
        "recall": round(recall, 3),
        "precision": round(precision, 3),
        "peer_recall": round(len(wanted & peer) / len(wanted), 3) if wanted else 1.0,
        "ms": round(elapsed * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not TRUTH.is_dir():
        print(f"no truth set at {TRUTH}", file=sys.stderr)
        return 2
    rows = []
    for truth_file in sorted(TRUTH.glob("*.json")):
        if not (ROOT / json.loads(truth_file.read_text(encoding="utf-8"))["file"]).exists():
            print(f"skipped {truth_file.stem}: its page is not here (../shared absent?)", file=sys.stderr)
            continue
        rows.append(score(truth_file))
    kinds_right = sum(r["kind"] == r["expected_kind"] for r in rows)
    missed = [r for r in rows if r["recall"] < AIM or r["kind"] != r["expected_kind"]]
    summary = {
        "pages": len(rows),
        "right_kind": kinds_right,
        "pages_at_aim": len(rows) - len(missed),
        "items_listed": sum(int(r["listed"]) for r in rows),
        "items_found_of_listed": sum(round(float(r["recall"]) * int(r["listed"])) for r in rows),
        "mean_recall": round(sum(float(r["recall"]) for r in rows) / len(rows), 3),
        "mean_precision": round(sum(float(r["precision"]) for r in rows) / len(rows), 3),
        "peer_mean_recall": round(sum(float(r["peer_recall"]) for r in rows) / len(rows), 3),
    }
    if args.json:
        print(json.dumps({"rows": rows, "summary": summary}, ensure_ascii=False, indent=2))
    else:
        head = ("page", "want", "got", "how", "listed", "found", "recall", "prec.", "peer rec.", "ms")
        print("  ".join(f"{h:>10}" if i else f"{h:<40}" for i, h in enumerate(head)))
        for r in rows:
            cells = (r["page"], r["expected_kind"], r["kind"], r["how"], r["listed"], r["found"], r["recall"],
                     r["precision"], r["peer_recall"], r["ms"])
            print("  ".join(f"{c!s:>10}" if i else f"{c!s:<40}" for i, c in enumerate(cells)))
        print(
            f"\n{summary['right_kind']}/{summary['pages']} pages of the right kind; {summary['pages_at_aim']}/"
            f"{summary['pages']} at recall >= {AIM:.2f}; mean recall {summary['mean_recall']:.3f} "
            f"(links-only peer {summary['peer_mean_recall']:.3f}), mean precision {summary['mean_precision']:.3f}"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
