"""The only path from harvested markup to HTML an editor's browser renders.

Threat model: every harvested page and feed is attacker-controlled. A compromised or hostile
site (or anyone who can inject into one) writes the markup we store, and the review UI shows it
to editors who are logged in to our application. Anything that runs script, submits forms,
restyles the page (CSS can overlay fake controls or exfiltrate via ``url()``), navigates the
editor, or makes the browser fetch third-party resources (tracking pixels, which leak the
editor's IP address and reading times) must never reach the template. Templates therefore mark
as safe only what :func:`sanitize_html` or :func:`text_to_html` return, and everything else
(titles, snippets from :func:`html_to_safe_text`) goes through Jinja2's autoescaping.

:func:`sanitize_html` is an allow-list over nh3 (the Rust ammonia sanitizer, which parses with
the HTML5 algorithm, so mis-nested and obfuscated markup is read the way a browser reads it):

* text structure only: paragraphs, line breaks, headings h2–h6 (h1 becomes h2: the page has
  its own title), lists, blockquote, pre / code, b / i / u / strong / em / sub / sup, and simple
  tables whose cells keep only ``colspan`` / ``rowspan``;
* links keep only ``href``, absolute http / https / mailto after resolving relative links
  against ``base_url`` (without one they lose the href: resolved against the review UI's own
  origin a relative link would point into our application); every link gets
  ``rel="noopener noreferrer nofollow"`` and ``target="_blank"``;
* images only on request (``allow_images=True``): http / https ``src`` and ``alt``, with
  ``loading="lazy"`` and ``referrerpolicy="no-referrer"``;
* script, style, iframe, object, embed, template, noscript, svg, math and other non-text
  elements (forms' controls, media, frames, ruby readings) go with their content; any other
  element is unwrapped to its text; comments, ``style`` / ``class`` / ``id`` / ``on*`` and
  every other attribute are dropped.

Input beyond :data:`MAX_INPUT_CHARS` is cut off before cleaning (the HTML5 parser closes what
the cut leaves open), and the output never exceeds :data:`MAX_OUTPUT_CHARS`.
"""

from __future__ import annotations

import html as html_lib
import re
from functools import partial
from urllib.parse import urljoin, urlsplit

import nh3

__all__ = [
    "MAX_INPUT_CHARS",
    "MAX_OUTPUT_CHARS",
    "html_to_safe_text",
    "sanitize_html",
    "text_to_html",
]

MAX_INPUT_CHARS = 2_000_000
"""Only this many characters of a document are cleaned; the rest is dropped, unread. An article
is a few tens of kilobytes; the cap bounds the work and the stored size of a hostile 50 MB page."""
MAX_OUTPUT_CHARS = 4_000_000
"""Cleaning can grow markup (every ``<a>`` gains its rel / target, ``&`` becomes ``&amp;``). When
the result of :data:`MAX_INPUT_CHARS` of input would pass this, less of the input is cleaned."""

TAGS = frozenset(
    {
        "p", "br", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code",
        "strong", "em", "b", "i", "u", "sub", "sup", "table", "thead", "tbody", "tr", "th", "td", "a",
    }
)  # fmt: skip
"""Elements kept by :func:`sanitize_html` (plus ``img`` when images are allowed)."""
DROP_WITH_CONTENT = frozenset(
    {
        # Never text: code, styles, embedded documents and foreign (SVG / MathML) content.
        "script", "style", "iframe", "object", "embed", "template", "noscript", "svg", "math",
        "applet", "frame", "frameset", "noembed", "noframes", "head", "title",
        # Media and form controls: their "content" is fallback text or choices, not article text.
        "audio", "video", "canvas", "map", "button", "select", "option", "textarea",
        # Ruby readings over CJK characters: unwrapped they would run into the text they annotate.
        "rp", "rt",
    }
)  # fmt: skip
"""Elements removed together with everything inside them (any other element is unwrapped)."""
ATTRIBUTES: dict[str, frozenset[str]] = {
    "*": frozenset(),  # without it nh3 keeps its generic attributes (lang, title) on every element
    "a": frozenset({"href"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
}
IMAGE_ATTRIBUTES = frozenset({"src", "alt"})
LINK_REL = "noopener noreferrer nofollow"
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_SCHEMES = frozenset({"http", "https"})
MAX_SPAN = 1000
"""Largest colspan / rowspan kept (the HTML limit for colspan): a huge span is a layout trick."""
MAX_NESTING = 256
"""Elements nested deeper than this lose their tags (their content stays) before nh3 parses the
input: the HTML5 parser rescans the stack of open elements for each block start tag, so 400 000
nested <div>s (2 MB) would take it minutes."""
MAX_REFS_PER_TEXT = 200
"""A text run with more character references than this is split (invisibly) before nh3 parses
it: html5ever grows a text node by copying it once per reference, so "&amp;" × 400 000 in one
run takes quadratic time."""

_SET_ATTRIBUTES = {"a": {"target": "_blank"}}
_SET_IMAGE_ATTRIBUTES = {**_SET_ATTRIBUTES, "img": {"loading": "lazy", "referrerpolicy": "no-referrer"}}
# nh3 adds set attributes in a random order (a hash map's): tags that get them are rewritten with
# their attributes in this order, so equal input gives equal output and cleaning is idempotent.
_ATTRIBUTE_ORDER = {
    "a": ("href", "rel", "target"),
    "img": ("src", "alt", "loading", "referrerpolicy"),
}
# nh3's serialisation: attribute values double-quoted with '"', "<" and ">" escaped.
_SET_TAG_RE = re.compile(r'<(a|img)((?: [a-z]+="[^"<>]*")*)>')
_SERIALIZED_ATTRIBUTE_RE = re.compile(r' ([a-z]+)="([^"<>]*)"')
_H1_RE = re.compile(r"<(/?)h1(?=[\s/>])", re.I)
# A rough HTML tokenizer for _defuse: comments, elements whose content is not markup, tags. An
# unclosed one runs to the end of the input, so no pattern ever rescans what follows it.
_TOKEN_RE = re.compile(
    r"<!--.*?(?:--!?>|\Z)"
    r"|<(script|style|textarea|title|xmp|iframe|noembed|noframes|noscript|plaintext)\b[^>]*(?:>.*?(?:</\1\s*>|\Z)|\Z)"
    r"|<(/?)([A-Za-z][^\s/>]*)[^>]*(?:>|\Z)",
    re.I | re.S,
)
# Never nest: void elements; <p> and <option>, which close the open one; table parts, which are
# ignored outside a table and close each other inside one (tables themselves count).
_NOT_NESTING = frozenset(
    {
        "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input", "keygen",
        "link", "meta", "param", "source", "track", "wbr", "p", "option", "tr", "td", "th", "thead", "tbody",
        "tfoot", "caption", "colgroup",
    }
)  # fmt: skip
# A list item closes the open one when nothing but inline elements lies between (here: when it
# is the innermost element counted); <dd> / <dt> likewise close each other.
_CLOSES_SIBLING = {"li": frozenset({"li"}), "dd": frozenset({"dd", "dt"}), "dt": frozenset({"dd", "dt"})}
_TAG_NAME_RE = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
_RCDATA = frozenset({"textarea", "title"})  # content not markup, but character references decoded
# Browsers ignore ASCII tab and newline anywhere in a URL, and C0 controls and spaces around it.
_URL_IGNORED_RE = re.compile(r"[\t\n\r]")
_URL_TRIM = "".join(map(chr, range(0x21)))
_SPAN_RE = re.compile(r"\s*0*(\d{1,4})\s*")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE_RE = re.compile(r"\s+")
_ANY_TAG_RE = re.compile(r"<[^>]*>")
# For plain text: elements that separate words. The inline ones are unwrapped without a space.
_TEXT_BREAK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog", "div", "dl",
        "dt", "fieldset", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
        "img", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip


def sanitize_html(html: str, *, base_url: str | None = None, allow_images: bool = False) -> str:
    """Untrusted HTML as markup safe to render in the review UI (see the module docstring for
    the allow-list). Relative links (and image sources) are resolved against ``base_url``, the
    page's final URL; without it they are dropped. Images are dropped unless ``allow_images``:
    fetching them from their sites would tell third parties who reads what, and when.

    Idempotent: cleaning the result again changes nothing.
    """
    if not html:
        return ""
    limit = MAX_INPUT_CHARS
    while True:
        cleaned = _clean_stable(html[:limit], base_url, allow_images)
        if len(cleaned) <= MAX_OUTPUT_CHARS:
            return cleaned
        # Markup that grows when cleaned: clean a proportionally shorter prefix.
        limit = min(limit - 1, int(limit * MAX_OUTPUT_CHARS / len(cleaned) * 0.9))


def _clean_stable(html: str, base_url: str | None, allow_images: bool) -> str:
    """Cleaned until cleaning changes nothing. One pass is not always enough: unwrapping an
    element can leave a tree the parser would not build ("<li>a<section><li>b" gives an <li>
    inside an <li>, "<table><caption>c" text directly in a table), and the next parse of that
    markup rearranges it. The second pass reads it the way a browser will; a third is a guard."""
    once = _clean(html, base_url, allow_images)
    twice = _clean(once, base_url, allow_images)
    return once if twice == once else _clean(twice, base_url, allow_images)


def _clean(html: str, base_url: str | None, allow_images: bool) -> str:
    tags = TAGS | {"img"} if allow_images else TAGS
    attributes = {**ATTRIBUTES, "img": IMAGE_ATTRIBUTES} if allow_images else ATTRIBUTES
    cleaned = nh3.clean(
        _H1_RE.sub(r"<\1h2", _defuse(html)),
        tags=tags,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes=attributes,
        attribute_filter=partial(_filter_attribute, base_url),
        strip_comments=True,
        link_rel=LINK_REL,
        url_schemes=LINK_SCHEMES,
        set_tag_attribute_values=_SET_IMAGE_ATTRIBUTES if allow_images else _SET_ATTRIBUTES,
    )
    # The parser drops one newline right after <pre>, and nh3 does not write it back: a listing
    # that starts with a blank line would lose a line each time it is cleaned.
    return _SET_TAG_RE.sub(_order_attributes, cleaned).replace("<pre>\n", "<pre>\n\n")


def _order_attributes(match: re.Match[str]) -> str:
    tag = match.group(1)
    values = dict(_SERIALIZED_ATTRIBUTE_RE.findall(match.group(2)))
    if tag == "img" and "src" not in values:
        return ""  # its source was refused: nothing to show
    ordered = "".join(f' {name}="{values[name]}"' for name in _ATTRIBUTE_ORDER[tag] if name in values)
    return f"<{tag}{ordered}>"


def _defuse(html: str) -> str:
    """``html`` with the two shapes that make html5ever slow taken out (see MAX_NESTING and
    MAX_REFS_PER_TEXT); unchanged when it has neither, which is every real page.

    Deep elements lose their start and end tags; long runs of character references get an
    empty <wbr> (which nh3 drops) every MAX_REFS_PER_TEXT references; a tag or a <title> /
    <textarea> (dropped anyway) with that many references is dropped. Nesting is estimated from
    the tags alone, generously, and the tokenizer is rough (a ">" inside a quoted attribute ends
    its tag early); either can only cost such a document some fidelity: nh3 sanitizes whatever
    this returns.
    """
    many_refs = any(chunk.count("&") > MAX_REFS_PER_TEXT for chunk in html.split("<"))
    if not many_refs and not _may_nest_deeply(html):
        return html
    out: list[str] = []
    nesting = _Nesting()
    position = 0
    for token in _TOKEN_RE.finditer(html):
        out.append(_split_refs(html[position : token.start()]))
        position = token.end()
        raw, opaque, slash, name = token.group(0), token.group(1), token.group(2), token.group(3)
        if raw.count("&") > MAX_REFS_PER_TEXT and (name or (opaque or "").lower() in _RCDATA):
            continue
        if name is None or (nesting.end(name.lower()) if slash else nesting.start(name.lower())):
            out.append(raw)
    out.append(_split_refs(html[position:]))
    return "".join(out)


def _may_nest_deeply(html: str) -> bool:
    if html.count("<") <= MAX_NESTING:
        return False
    nesting = _Nesting()
    return not all(
        nesting.end(name.lower()) if slash else nesting.start(name.lower())
        for slash, name in _TAG_NAME_RE.findall(html)
    )


class _Nesting:
    """The elements open at each tag, estimated from the tags alone for _defuse: an upper bound
    for the nesting without table cells between that costs html5ever its time. Every start tag
    opens an element (but void ones, and the few that close their open sibling); an end tag
    closes the innermost element of its name and everything opened inside it, and is ignored
    when none is open."""

    __slots__ = ("kept", "open_names", "stack")

    def __init__(self) -> None:
        self.stack: list[tuple[str, bool]] = []  # open elements: (name, whether its tags are kept)
        self.open_names: dict[str, int] = {}
        self.kept = 0

    def start(self, name: str) -> bool:
        """Whether the start tag stays: not when MAX_NESTING elements are open already."""
        if name in _NOT_NESTING:
            return True
        if name in _CLOSES_SIBLING and self.stack and self.stack[-1][0] in _CLOSES_SIBLING[name]:
            self._pop()
        keep = self.kept < MAX_NESTING
        self.stack.append((name, keep))
        self.open_names[name] = self.open_names.get(name, 0) + 1
        self.kept += keep
        return keep

    def end(self, name: str) -> bool:
        """Whether the end tag stays: not when it closes an element whose start tag went."""
        if name in _NOT_NESTING or not self.open_names.get(name):
            return True
        while True:
            top, keep = self._pop()
            if top == name:
                return keep

    def _pop(self) -> tuple[str, bool]:
        name, keep = self.stack.pop()
        self.open_names[name] -= 1
        self.kept -= keep
        return name, keep


def _split_refs(text: str) -> str:
    """``text`` with an empty <wbr> before every MAX_REFS_PER_TEXT-th "&"."""
    if text.count("&") <= MAX_REFS_PER_TEXT:
        return text
    pieces = text.split("&")
    return pieces[0] + "".join(
        ("<wbr>&" if index % MAX_REFS_PER_TEXT == 0 else "&") + piece for index, piece in enumerate(pieces[1:], 1)
    )


def _filter_attribute(base_url: str | None, tag: str, name: str, value: str) -> str | None:
    """nh3's last word on each kept attribute (values arrive with entities decoded): URLs made
    absolute and checked, spans checked; None removes the attribute."""
    if name == "href" and tag == "a":
        return _safe_url(value, base_url, LINK_SCHEMES)
    if name == "src" and tag == "img":
        return _safe_url(value, base_url, IMAGE_SCHEMES)
    if name in ("colspan", "rowspan"):
        match = _SPAN_RE.fullmatch(value)
        span = int(match.group(1)) if match else 0
        return str(span) if 1 <= span <= MAX_SPAN else None
    return value


def _safe_url(value: str, base_url: str | None, schemes: frozenset[str]) -> str | None:
    """``value`` as an absolute URL with one of ``schemes``, read the way a browser reads it
    ("jav&#x09;ascript:" is javascript:), or None. Relative URLs need ``base_url``."""
    url = _URL_IGNORED_RE.sub("", value).strip(_URL_TRIM)
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
        if not scheme:
            if not base_url:
                return None
            url = urljoin(_URL_IGNORED_RE.sub("", base_url).strip(_URL_TRIM), url)
            scheme = urlsplit(url).scheme.lower()
    except ValueError:  # e.g. an unbalanced IPv6 bracket in the host
        return None
    if scheme not in schemes:
        return None
    if scheme != "mailto" and not url.lower().startswith(f"{scheme}://"):
        return None  # "http:evil.com/x": browsers read it as relative to the current page
    return url


def text_to_html(text: str) -> str:
    """Article text as stored (``body_text``: one paragraph per line, a table row's cells joined
    by tabs, as :func:`news_harvester.parse.clean.html_to_text` and the extractor write it) as HTML:
    each line an escaped ``<p>``, each run of tab-separated lines one ``<table>`` with a row per
    line. Blank lines only separate. Everything in the text is shown as text, never as markup."""
    out: list[str] = []
    rows: list[str] = []
    for raw in _CONTROL_RE.sub("", text[:MAX_INPUT_CHARS]).splitlines():
        line = raw.strip()
        if "\t" in line:
            cells = "".join(f"<td>{_escape(cell.strip())}</td>" for cell in line.split("\t"))
            rows.append(f"<tr>{cells}</tr>")
            continue
        if rows:
            out.append(_table(rows))
            rows = []
        if line:
            out.append(f"<p>{_escape(line)}</p>")
    if rows:
        out.append(_table(rows))
    return "\n".join(out)


def _escape(text: str) -> str:
    """Text as HTML, spelled the way nh3 serialises it, so that :func:`sanitize_html` returns
    :func:`text_to_html`'s output unchanged."""
    return html_lib.escape(text, quote=False).replace("\xa0", "&nbsp;")


def _table(rows: list[str]) -> str:
    return "<table><tbody>" + "".join(rows) + "</tbody></table>"


def html_to_safe_text(html: str) -> str:
    """Untrusted HTML as one line of plain text for snippets and titles: no markup, the content
    of scripts, styles and the other :data:`DROP_WITH_CONTENT` elements dropped, entities decoded,
    blocks separated by a space, every run of whitespace one space.

    The result is text, not HTML: "a &lt; b" becomes "a < b", so templates must autoescape it.
    """
    if not html:
        return ""
    # nh3 parses like a browser and leaves only attribute-less block tags, so the tag regex below
    # sees nothing but "<name>" / "</name>"; text "<" is escaped as "&lt;".
    blocks = nh3.clean(
        _defuse(html[:MAX_INPUT_CHARS]),
        tags=_TEXT_BREAK_TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes={"*": frozenset()},
        strip_comments=True,
        link_rel=None,
    )
    text = html_lib.unescape(_ANY_TAG_RE.sub(" ", blocks))
    return _WHITESPACE_RE.sub(" ", _CONTROL_RE.sub("", text)).strip()
