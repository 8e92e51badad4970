"""Article extraction benchmark: our extractor against ``trafilatura.extract`` on the same pages, same run.

Run:  .venv/bin/python bench/extract.py             (all CJK fixture pages, 5 timed rounds)
      .venv/bin/python bench/extract.py --rounds 1  (quick)

Pages: every page that has a golden file in tests/expected/extract/ (real Chinese and Japanese
article pages from ../shared/fixtures). Speed is measured on all of them; body quality against:
  * hand-checked bodies (tests/expected/extract-bodies/<id>.txt, clipped from each page by hand
    without running any extractor; NOTES-*.md there give the rules) -> precision, recall, F1
  * the upstream projects' own references, where a project ships one -> F1 ("F1-up"):
    newspaper4k-testdata's txt/<name>.txt, readability-testpages' expected.html (both known to
    be wrong on some pages: one keeps a whole page layout, one drops quotation marks)
  * trafilatura-eval: the "with" snippets (must appear)               -> recall only
    and the "without" snippets (boilerplate that must not appear)     -> count of leaks
Scores are character 4-gram shingle sets over the text with all whitespace removed and NFKC
applied, so line breaks and full-/half-width forms do not count. Peer: trafilatura.extract with
its defaults, and with the options our old code used (include_tables, favor_precision) — each
given the same decoded HTML string and URL. See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import trafilatura
from bs4 import BeautifulSoup
from trafilatura.deduplication import LRUCache

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from news_harvester.harvest.decode import decode_body  # noqa: E402
from news_harvester.parse.article import extract_page  # noqa: E402

FIXTURES = Path(os.environ.get("NEWS_HARVESTER_FIXTURES", ROOT.parent / "shared" / "fixtures"))
GOLDEN = ROOT / "tests" / "expected" / "extract"
CHECKED = ROOT / "tests" / "expected" / "extract-bodies"
HELD_OUT_PREFIX = "gerapy-"
"""Pages whose golden values were checked only after the extractor was written (their date_note says
"held out"): the closest thing here to unseen sites."""
RESULTS = ROOT / "bench" / "results"
BEIJING = ZoneInfo("Asia/Shanghai")
SHINGLE = 4


def normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def shingles(text: str) -> set[str]:
    text = normalise(text)
    return {text[i : i + SHINGLE] for i in range(max(len(text) - SHINGLE + 1, 0))}


def prf(got: str, reference: str) -> tuple[float, float, float]:
    a, b = shingles(got), shingles(reference)
    if not a or not b:
        return 0.0, 0.0, 0.0
    common = len(a & b)
    p, r = common / len(a), common / len(b)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


class Page:
    def __init__(self, fixture_id: str, golden: dict) -> None:
        self.id = fixture_id
        self.fixture = golden["fixture"]
        self.url = golden.get("url") or f"https://fixture.invalid/{fixture_id}.html"
        self.html = decode_body((FIXTURES / self.fixture).read_bytes(), "text/html").text
        self.reference: str | None = None  # the upstream project's
        checked = CHECKED / f"{fixture_id}.txt"
        self.checked: str | None = checked.read_text(encoding="utf-8") if checked.exists() else None
        self.with_snippets: list[str] = []
        self.without_snippets: list[str] = []


def load_pages(every_language: bool) -> list[Page]:
    pages = [Page(p.stem, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(GOLDEN.glob("*.json"))]
    if every_language:
        pages += other_pages({p.fixture for p in pages})
    annotations = json.loads((FIXTURES / "trafilatura-eval/tests/evaldata.json").read_text(encoding="utf-8"))
    by_file = {entry["file"]: entry for entry in annotations.values()}
    for page in pages:
        folder, _, rest = page.fixture.partition("/")
        if folder == "newspaper4k-testdata":
            page.reference = (FIXTURES / page.fixture.replace("/html/", "/txt/").replace(".html", ".txt")).read_text(
                encoding="utf-8"
            )
        elif folder == "readability-testpages":
            expected = (FIXTURES / page.fixture).with_name("expected.html").read_text(encoding="utf-8")
            page.reference = BeautifulSoup(expected, "lxml").get_text("\n")
        elif folder == "trafilatura-eval" and (entry := by_file.get(Path(rest).name)):
            page.with_snippets, page.without_snippets = entry["with"], entry["without"]
    return pages


def other_pages(known: set[str]) -> list[Page]:
    """The non-CJK pages with a reference: newspaper4k and readability (all languages) and the
    trafilatura-eval pages present locally."""
    found = []
    for path in sorted((FIXTURES / "newspaper4k-testdata/tests/data/html").glob("*.html")):
        meta = path.parent.parent / "metadata" / f"{path.stem}.json"
        fixture = str(path.relative_to(FIXTURES))
        if fixture not in known and meta.exists():
            url = json.loads(meta.read_text(encoding="utf-8")).get("url")
            found.append(Page(f"newspaper4k-{path.stem}", {"fixture": fixture, "url": url}))
    for path in sorted((FIXTURES / "readability-testpages/test/test-pages").glob("*/source.html")):
        fixture = str(path.relative_to(FIXTURES))
        if fixture not in known:
            found.append(Page(f"readability-{path.parent.name}", {"fixture": fixture}))
    annotations = json.loads((FIXTURES / "trafilatura-eval/tests/evaldata.json").read_text(encoding="utf-8"))
    for url, entry in annotations.items():
        for folder in ("eval", "cache"):
            path = FIXTURES / "trafilatura-eval/tests" / folder / entry["file"]
            fixture = str(path.relative_to(FIXTURES))
            if path.exists() and fixture not in known:
                found.append(Page(f"trafilatura-{entry['file']}", {"fixture": fixture, "url": url}))
    return found


def ours(page: Page) -> str:
    return extract_page(page.html, page.url, BEIJING).body_text


def trafilatura_default(page: Page) -> str:
    return trafilatura.extract(page.html, url=page.url, deduplicate=LRUCache(maxsize=1024)) or ""


def trafilatura_precision(page: Page) -> str:
    return (
        trafilatura.extract(
            page.html,
            url=page.url,
            include_tables=True,
            include_comments=False,
            favor_precision=True,
            deduplicate=LRUCache(maxsize=1024),
        )
        or ""
    )


EXTRACTORS: dict[str, Callable[[Page], str]] = {
    "ours": ours,
    "trafilatura (defaults)": trafilatura_default,
    "trafilatura (precision)": trafilatura_precision,
}


def time_extractor(function: Callable[[Page], str], pages: list[Page], rounds: int) -> list[float]:
    """Seconds per round over all pages (one warm-up round first, garbage collector off)."""
    for page in pages:
        function(page)
    walls = []
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        started = time.perf_counter()
        for page in pages:
            function(page)
        walls.append(time.perf_counter() - started)
        gc.enable()
    return walls


def quality(function: Callable[[Page], str], pages: list[Page]) -> dict[str, float]:
    scores = [prf(function(p), p.checked) for p in pages if p.checked is not None]
    upstream = [prf(function(p), p.reference)[2] for p in pages if p.reference is not None]
    recalls, leaks = [], 0
    for page in pages:
        if page.with_snippets:
            body = normalise(function(page))
            recalls.append(sum(normalise(s) in body for s in page.with_snippets) / len(page.with_snippets))
            leaks += sum(normalise(s) in body for s in page.without_snippets if normalise(s))
    return {
        "precision": statistics.mean(s[0] for s in scores),
        "recall": statistics.mean(s[1] for s in scores),
        "f1": statistics.mean(s[2] for s in scores),
        "f1_median": statistics.median(s[2] for s in scores),
        "reference_pages": len(scores),
        "f1_upstream": statistics.mean(upstream),
        "upstream_pages": len(upstream),
        "snippet_recall": statistics.mean(recalls) if recalls else float("nan"),
        "snippet_pages": len(recalls),
        "boilerplate_leaks": leaks,
        "empty": sum(1 for p in pages if not function(p).strip()),
    }


def metadata_accuracy(pages: list[Page]) -> dict[str, tuple[int, int, int, int]]:
    """Titles and publication days right against the golden files, ours vs trafilatura's own
    metadata extractor (htmldate for the date): (titles right, pages, days right, dated pages)."""
    golden = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in GOLDEN.glob("*.json")}
    scores = {"ours": [0, 0, 0, 0], "trafilatura metadata": [0, 0, 0, 0]}
    for page in pages:
        expected = golden.get(page.id)
        if expected is None:
            continue
        mine = extract_page(page.html, page.url, BEIJING)
        theirs = trafilatura.extract_metadata(page.html, default_url=page.url)
        answers = {
            "ours": (
                mine.title,
                mine.published_at.astimezone(BEIJING).date().isoformat() if mine.published_at else None,
            ),
            "trafilatura metadata": (theirs.title if theirs else None, theirs.date if theirs else None),
        }
        for name, (title, day) in answers.items():
            score = scores[name]
            score[0] += bool(title) and normalise(title).casefold() == normalise(expected["title"]).casefold()
            score[1] += 1
            if expected["date"]:
                score[2] += day == expected["date"]
                score[3] += 1
    return {name: (s[0], s[1], s[2], s[3]) for name, s in scores.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds over all pages (median reported)")
    parser.add_argument("--per-page", action="store_true", help="print P / R / F1 per reference page")
    parser.add_argument(
        "--every-language", action="store_true", help="add the non-CJK pages (English, German, Polish …) too"
    )
    args = parser.parse_args()
    if not FIXTURES.exists():
        print(f"FAIL: fixtures not found at {FIXTURES}")
        return 1
    pages = load_pages(args.every_language)
    megabytes = sum(len(p.html.encode("utf-8")) for p in pages) / 1e6
    print(f"{len(pages)} pages, {megabytes:.1f} MB of HTML; median of {args.rounds} timed rounds after a warm-up\n")
    results = {}
    for name, function in EXTRACTORS.items():
        wall = statistics.median(time_extractor(function, pages, args.rounds))
        results[name] = {"wall": wall, "pages_per_s": len(pages) / wall, **quality(function, pages)}
    print_table(results, len(pages))
    held_out = [p for p in pages if p.checked is not None and p.id.startswith(HELD_OUT_PREFIX)]
    if held_out:
        cells = ", ".join(
            f"{name} {statistics.mean(prf(f(p), p.checked)[2] for p in held_out if p.checked):.3f}"
            for name, f in EXTRACTORS.items()
        )
        print(f"held out of the rules' development ({len(held_out)} {HELD_OUT_PREFIX}* pages), F1: {cells}")
    titles = metadata_accuracy(pages)
    print("\ntitle and publication day against the hand-checked golden files (tests/expected/extract):")
    for name, (right, total, days, dated) in titles.items():
        print(f"  {name:22} titles {right}/{total} = {right / total:.1%}   days {days}/{dated} = {days / dated:.1%}")
    if args.per_page:
        print()
        for page in pages:
            for label, reference in (("checked", page.checked), ("upstream", page.reference)):
                if reference is not None:
                    cells = "  ".join(
                        "{:.2f}/{:.2f}/{:.2f}".format(*prf(f(page), reference)) for f in EXTRACTORS.values()
                    )
                    print(f"{page.id[:44]:44} {label:8} P/R/F1 {cells}")
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"extract-{stamp}-{len(pages)}.json"
    out.write_text(json.dumps({"pages": len(pages), "results": results, "metadata": titles}, indent=1))
    print(f"\nfull result: {out.relative_to(ROOT)}")
    return 0


def print_table(results: dict[str, dict[str, float]], pages: int) -> None:
    header = (
        f"{'extractor':26} {'pages/s':>8} {'ms/page':>8} {'P':>6} {'R':>6} {'F1':>6} {'F1-med':>6} "
        f"{'F1-up':>6} {'snip-R':>7} {'leaks':>6} {'empty':>6}"
    )
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        print(
            f"{name:26} {r['pages_per_s']:8.1f} {1000 * r['wall'] / pages:8.1f} {r['precision']:6.3f} "
            f"{r['recall']:6.3f} {r['f1']:6.3f} {r['f1_median']:6.3f} {r['f1_upstream']:6.3f} "
            f"{r['snippet_recall']:7.3f} "
            f"{r['boilerplate_leaks']:6.0f} "
            f"{r['empty']:6.0f}"
        )
    ours = results["ours"]
    print(
        f"\nP / R / F1: means (F1-med: median) over {ours['reference_pages']:.0f} pages with a hand-checked body; "
        f"F1-up: mean F1 against the upstream projects' references ({ours['upstream_pages']:.0f} pages); "
        "snip-R: share of "
        f"trafilatura-eval's must-have snippets found ({ours['snippet_pages']:.0f} pages); leaks: its "
        "must-not-have snippets found; empty: pages with no body."
    )
    for name, r in results.items():
        if name != "ours":
            print(
                f"ours vs {name}: speed x{ours['pages_per_s'] / r['pages_per_s']:.2f}, "
                f"F1 {ours['f1']:.3f} vs {r['f1']:.3f} ({ours['f1'] - r['f1']:+.3f}), "
                f"F1-up {ours['f1_upstream']:.3f} vs {r['f1_upstream']:.3f} "
                f"({ours['f1_upstream'] - r['f1_upstream']:+.3f})"
            )


if __name__ == "__main__":
    sys.exit(main())
