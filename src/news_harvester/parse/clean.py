"""Normalise harvested values: plain text from HTML, canonical URLs, content hashes, Article
records, and article body lines without page furniture (:func:`drop_boilerplate`).

Pure functions; callers pass ``now``. Never fetches, never writes.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from datetime import datetime
from html import unescape
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from news_harvester.models import Article, RawItem
from news_harvester.parse.html_tree import parse_html

_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|spm|from|isappinstalled|share_token|share_from|scene|srcid|wfr|fbclid|gclid|"
    r"mc_cid|mc_eid|_hsenc|_hsmi|ref|ref_src|cmpid|ncid|ocid)$",
    re.I,
)
_BLOCK_TAGS = (
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "blockquote",
    "pre",
    "table",
    "ul",
    "ol",
    "dd",
    "dt",
)
_SPACES_RE = re.compile(r"[ \t\u00a0\u3000\r\f\v]+")
_ANY_SPACE_RE = re.compile(r"\s+")
_CELL_END = "\ue000"  # private-use mark for the end of a table cell until whitespace is squeezed
_SESSION_ID_RE = re.compile(r";jsessionid=[^/?#]*", re.I)
_HASH_STRIP_RE = re.compile(r"[\s\W_]+", re.UNICODE)


def canonical_url(url: str) -> str:
    """One spelling per article URL: lower-case scheme and host, no default port, no fragment,
    no tracking parameters (utm_*, spm, …) and no ``;jsessionid=``; the path and the remaining
    query parameters are kept exactly as written, in their order, because CMSs route on them."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    path = _SESSION_ID_RE.sub("", parts.path) or "/"
    query = "&".join(
        field
        for field in parts.query.split("&")
        if field and not _TRACKING_PARAMS.match(unquote_plus(field.split("=", 1)[0]))
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def html_to_text(html: str | None) -> str:
    """Readable plain text: one paragraph (block, ``<br>``) per line, table cells separated by tabs.

    Line breaks in the HTML source are whitespace like any other (outside ``<pre>``), so a
    paragraph wrapped over several source lines stays one line and a table row written one cell
    per source line stays one row. ``<head>``, scripts, styles, templates and ruby annotations are
    not text. One walk over libxml2's tree (BeautifulSoup did the same in ~14× the time: this runs
    for every feed description and article body).
    """
    if not html:
        return ""
    if "<" not in html:
        return _squeeze(unescape(html))
    root = parse_html(html)
    return _squeeze(_flatten(root)) if root is not None else ""


_NOT_TEXT = frozenset({"head", "script", "style", "noscript", "template", "rt", "rp"})
_BLOCKS = frozenset(_BLOCK_TAGS) - {"br"}
_OPEN, _CLOSE, _TAIL = 0, 1, 2


def _flatten(root: Any) -> str:
    """The text of ``root`` with a newline around every block, "\n" for ``<br>`` and _CELL_END after every
    table cell; whitespace runs are one space outside ``<pre>``. Iterative (a deep page cannot overflow)."""
    out: list[str] = []
    emit = out.append
    space = _ANY_SPACE_RE.sub
    stack: list[tuple[int, Any, bool]] = [(_OPEN, root, False)]
    while stack:
        step, element, pre = stack.pop()
        if step == _TAIL:
            if element.tail:
                emit(element.tail if pre else space(" ", element.tail))
            continue
        tag = element.tag
        if step == _CLOSE:
            if tag in ("td", "th"):
                emit(_CELL_END)
            if tag in _BLOCKS:
                emit("\n")
            continue
        if not isinstance(tag, str) or tag in _NOT_TEXT:  # comments, processing instructions, non-text
            continue
        if tag == "br":
            emit("\n")
            continue
        inner = pre or tag == "pre"
        if tag in _BLOCKS:
            emit("\n")
        if element.text:
            emit(element.text if inner else space(" ", element.text))
        stack.append((_CLOSE, element, pre))
        for child in reversed(element):
            stack.append((_TAIL, child, inner))
            stack.append((_OPEN, child, inner))
    return "".join(out)


def _squeeze(text: str) -> str:
    """Collapse runs of spaces, drop blank lines, and join the cells of a table row with tabs."""
    out = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = _SPACES_RE.sub(" ", raw).strip(" ")
        if _CELL_END in line:
            cells = [cell.strip(" ") for cell in line.rstrip(_CELL_END + " ").split(_CELL_END)]
            line = "\t".join(cells)
        if line.strip():
            out.append(line)
    return "\n".join(out)


def content_hash(text: str) -> str:
    """SHA-256 of the text with Unicode forms, case, whitespace and punctuation normalised away,
    so a reprint that only changes spacing or full-width punctuation hashes the same."""
    normalised = _HASH_STRIP_RE.sub("", unicodedata.normalize("NFKC", text).casefold())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def clean_title(title: str) -> str:
    return _squeeze(html_to_text(title)).replace("\n", " ")


MAX_HEADLINE_CHARS = 80
"""Longer than this is a text standing in for a title (a flash news item without one), not a headline."""
_LEAD_HEADING_RE = re.compile(r"^\s*【([^】]{4,80})】")
_FIRST_SENTENCE_RE = re.compile(r"^.+?[。！？!?](?=\s|$|[^”」』])")


def headline(text: str) -> str:
    """A title for a list row whose title field fell back to its text: the text itself when it is short,
    else its 【…】 lead heading (财联社 flashes open with one), else its first sentence, else its first
    MAX_HEADLINE_CHARS characters with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= MAX_HEADLINE_CHARS:
        return text
    if match := _LEAD_HEADING_RE.match(text):
        return match.group(1).strip()
    if (match := _FIRST_SENTENCE_RE.match(text)) and len(match.group(0)) <= MAX_HEADLINE_CHARS:
        return match.group(0)
    return text[:MAX_HEADLINE_CHARS].rstrip() + "…"


def build_article(
    item: RawItem,
    *,
    source_id: str,
    source_name: str,
    language: str | None,
    fetched_at: datetime,
    body_text: str | None = None,
    attribution: str | None = None,
    published_at: datetime | None = None,
    date_origin: str | None = None,
    raw_page: bytes | None = None,
    attachments: tuple[tuple[str, str, str], ...] = (),
) -> Article:
    """Article from a feed/list item, optionally enriched by its extracted page.

    The body is the page's extracted text when there is one, else the feed's full content, else
    its summary. Attribution defaults to the source's display name (e.g. 商务部网站).
    """
    summary = html_to_text(item.summary_html) or None
    body = body_text or html_to_text(item.content_html) or summary or ""
    title = clean_title(item.title) or (summary or body)[:60] or item.url
    published = published_at or item.published
    origin = date_origin if published_at else ("feed" if item.published else None)
    return Article(
        url=canonical_url(item.url),
        source_id=source_id,
        title=title,
        published_at=published,
        fetched_at=fetched_at,
        author=(item.author or "").strip() or None,
        attribution=attribution or source_name,
        summary=summary,
        body_text=body,
        content_hash=content_hash(body or title),
        language=language,
        guid=item.guid,
        raw_page=raw_page,
        date_origin=origin,
        source_name=source_name,
        attachments=attachments,
    )


# --------------------------------------------------------------------------- article body lines

_LINE_SPACES_RE = re.compile(r"[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\r\f\v]+")
_INVISIBLE_RE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad\ue000-\uf8ff]")  # private use: icon-font glyphs
# Whole lines that are page furniture, never article text: editor credits, share / print / font-size
# widgets, "previous / next article", copyright and licence notices. Matched against the complete
# line, so a sentence that merely mentions 分享 or 版权 stays.
_BOILERPLATE_LINE_RE = re.compile(
    r"^[\[【(（<〔]?\s*(?:"
    r"(?:责任编辑|责编|编辑|值班编辑|本文编辑|网络编辑|美编|校对|审校|审核|终审|监制|统筹|主编|策划|制作|编审)"
    r"\s*[:：/|].{0,40}"
    r"|(?:分享到|分享至|分享|转发到|打印本页|打印此页|打印|关闭窗口|关闭本页|关闭|返回顶部|回到顶部|返回首页|返回列表|收藏本页|收藏|"
    r"扫一扫|微信扫一扫|扫描二维码|用微信扫描二维码|二维码|手机看|手机阅读|举报|纠错|我要纠错|点赞|字号|字体|"
    r"相关新闻|相关阅读|相关文章|相关链接|相关推荐|相关报道|延伸阅读|推荐阅读|热门推荐|热点推荐|热门文章|猜你喜欢|"
    r"更多|阅读原文|查看原文|点击查看|网站地图|联系我们)"
    r"(?:\s*[:：>》].{0,60})?"
    r"|(?:上一篇|下一篇|上一条|下一条|上一页|下一页)\s*[】\]]?\s*[:：]?.{0,120}"
    r"|(?:特别声明|免责声明|版权声明|声明)\s*[】\]]?\s*[:：].{0,200}"
    r"|.{0,40}未经.{0,6}(?:授权|许可|允许|同意).{0,20}(?:不得|禁止|严禁).{0,60}"
    r"|(?:微信|手机)?扫一扫.{0,20}|(?:用)?(?:微信|手机)?扫描二维码.{0,20}"
    r"|(?:编辑|校对|责编|审核)\s+[\u4e00-\u9fff·]{2,5}(?:\s+(?:编辑|校对|责编|审核)\s+[\u4e00-\u9fff·]{2,5})*"
    r"|(?:【\s*)?字[体号]\s*[:：]?\s*(?:[大中小]\s*){2,3}(?:】)?.*"
    r"|(?:copyright|©|\(c\)|版权所有|all rights reserved|alle rechte vorbehalten|tous droits réservés"
    r"|todos los derechos reservados|wszelkie prawa zastrzeżone).{0,120}"
    r"|.{0,40}(?:责任编辑|责编)\s*[:：].{0,30}"
    r"|(?:本文|文章|稿件|信息|新闻)?(?:来源于?|來源|稿源)\s*[:：]\s*\S{0,20}"
    r"|(?:评论|跟帖|我要跟帖|我要评论|发表评论|已输入\d+字|正在加载|加载中|点击加载更多|加载更多|收起|展开全文|查看全文|阅读全文)"
    r"\s*[(（]?\d*[)）]?.{0,6}"
    r"|.{0,60}(?:ICP备|ICP证|网安备|公网安备).{0,60}"
    r"|(?:本文|文章|稿件)?(?:转载|未经授权).{0,30}(?:禁止|不得|注明).{0,60}"
    r"|(?:本文)?原标题\s*[:：].{0,100}"
    # a byline on its own line ("作者：张三 李四", "文｜王五"); "记者：请问……？" in an interview is text
    r"|(?:作者|采写|撰文|原创|文|记者)\s*[:：/|｜]\s*[^。！？，,.!?:：]{0,30}"
    r")\s*[\]】)）>〕]?$",
    re.I,
)
# Promotion lines of apps and WeChat accounts in a short line: "安装…客户端…【下载地址】", "扫描下方二维码解锁更多…",
# "3、回复【社保】查询…", "点【在看】…", "点击菜单栏…". A notice's "请扫描二维码报名。" and a quoted reply
# ("该公司回复“正在核实”。") are text.
_PROMO_LINE_RE = re.compile(
    r"(?:下载|安装).{0,12}(?:客户端|APP).{0,40}(?:→|【|福利)|【下载地址】|"
    r"(?:扫描|长按|识别).{0,8}二维码.{0,12}(?:关注|解锁|更多|下载)|^(?:\d+\s*[、.．]\s*)?回复\s*[【「“\"]|"
    r"点.{0,2}[【「“\"]在看|^点击.{0,4}(?:菜单栏|阅读原文|关注)",
    re.I,
)
PROMO_MAX_CHARS = 80
"""Promotion lines are short; a paragraph that mentions an app's download is text."""
# Tags under an article: "20190926|国贸|增长率|全球经济".
_TAG_LINE_RE = re.compile(r"^[^|｜。，,]{1,16}(?:\s*[|｜]\s*[^|｜。，,]{1,16}){2,}$")
# A line with no letter, digit-word or CJK character, or a bare counter ("2168", "|", "A- A A+").
_JUNK_LINE_RE = re.compile(r"^(?:[\W_]*|\d{1,7}|(?:A[-+]?\s*){2,3}|[\W\d_]{1,3})$")
# Headings of the blocks that follow an article (related stories, comments): the body ends there.
_TRAILER_RE = re.compile(
    r"^[\[【]?(?:相关新闻|相关阅读|相关文章|相关推荐|相关报道|延伸阅读|延伸推荐|推荐阅读|热门推荐|猜你喜欢|网友评论|"
    r"热门评论|最新评论|发表评论|我要评论|精彩推荐|为你推荐|更多精彩|往期回顾|精彩视频推荐|热门视频|"
    r"特别声明|免责声明|版权声明)[\]】]?\s*[:：]?$"
)
# The same for pages in English, German, French, Spanish (EDPS, WTO, UNCTAD and the sites they quote).
_FOREIGN_TRAILER_RE = re.compile(
    r"^(?:related(?: articles| stories| posts| news| content| reading)?|you (?:may|might) also like|"
    r"recommended for you|leave a (?:reply|comment)|ähnliche beiträge|das könnte sie auch interessieren|"
    r"mehr zum thema|artículos relacionados|(?:à )?lire aussi|sur le même sujet)\s*:?$",
    re.I,
)
# Share, print and follow buttons as lines of their own: "Share this:", "Teilen Sie dies mit:",
# "Tweet Share Email", "Rezept drucken Bei Pinterest speichern", "Advertisement".
_FOREIGN_WIDGET_RE = re.compile(
    r"^(?:share (?:this|on \w+)(?: (?:article|story|post|page))?|teilen sie dies mit|diesen artikel teilen|"
    r"like this|gefällt mir|print this (?:article|page)|rezept drucken.{0,30}|most (?:read|popular)|"
    r"(?:subscribe|sign up) (?:to|for) (?:our|the) newsletters?.{0,60}|advertisement|anzeige|werbung|publicidad|"
    r"tags|schlagwörter|stichworte|temas|étiquettes)\s*:?$",
    re.I,
)
_WIDGET_WORDS = frozenset(
    {
        "share", "sharing", "tweet", "print", "email", "e-mail", "mail", "pin", "pinnen", "drucken", "teilen", "merken",
        "speichern", "facebook", "twitter", "x", "linkedin", "whatsapp", "pinterest", "reddit", "telegram", "xing",
        "flipboard", "pocket", "weibo", "wechat", "微博", "微信", "qq", "qzone",
        # recipe plugins' buttons: "Jump to Recipe Print Recipe Pin Recipe", "Zum Rezept Drucken Pinnen"
        "jump", "to", "recipe", "zum", "rezept", "springen",
    }
)  # fmt: skip
# A picture's credit as a line of its own: "Foto: Ingo Pertramer", "Photo credit: AFP", "Bild: dpa".
_CREDIT_LINE_RE = re.compile(
    r"^(?:fotos?|photos?|photo credits?|photograph|bild(?:er|quelle)?|images?|credits?|crédits? photos?)\s*[:©]\s*"
    r"[^.!?:]{1,60}$",
    re.I,
)
# A picture's credit at the end of its caption: "…mit Essen und Getränken. Foto: Galli/Malteser", or glued to the
# caption's full stop in the "agency / photographer" form: "…Mitzscherlich.DCV / Oppitz".
_TRAILING_CREDIT_RE = re.compile(
    r"(?:(?<=[.!?])\s*(?i:fotos?|photos?|photo credits?|bild(?:er)?|images?|credits?)\s*[:©]\s*[^.!?:]{1,60}"
    r"|(?<=[a-zäöüßà-ÿ]\.)(?!(?:com|de|org|net|eu|at|ch|fr|pl|es|it|uk|cn|gov|info|io)\b)"
    r"[A-Za-zÄÖÜ][\w-]{2,24}(?: [\w-]+){0,2} / [A-ZÄÖÜ][\w-]+(?: [A-ZÄÖÜ][\w-]+){0,2})$"
)
# A newsletter sign-up box: a short paragraph asking the reader to subscribe to "our" newsletter.
_NEWSLETTER_RE = re.compile(
    r"(?:abonnieren sie|subscribe to|sign up (?:for|to)|melden sie sich|inscrivez-vous|abonnez-vous|suscríbete)"
    r".{0,80}newsletter",
    re.I,
)
NEWSLETTER_MAX_CHARS = 300
# A cookie notice, in the site's own voice: "Wir verwenden Cookies, …", "This website uses cookies …", "By using our
# services you agree to our use of cookies". An article about cookies does not speak like that.
_COOKIE_NOTICE_RE = re.compile(
    r"\b(?:we use cookies|this (?:web)?site uses cookies|wir (?:verwenden|nutzen|setzen) cookies|"
    r"diese (?:web)?seite (?:verwendet|nutzt) cookies|nous utilisons des cookies|ce site utilise des cookies|"
    r"utilizamos cookies|este sitio (?:web )?utiliza cookies|używamy (?:plików )?cookie|"
    r"(?:you agree to|stimmen sie) (?:our|der|the) (?:use of|verwendung von) cookies)",
    re.I,
)
COOKIE_NOTICE_MAX_CHARS = 400
_HEADING_DOTS_RE = re.compile(r"[\s·•・]")  # "延伸 · 推荐"
_BUTTON_GAP_RE = re.compile(r"[\s,|/·•]+")
_SENTENCE_END_RE = re.compile(r"[。！？!?…”」』.]$")
_QUESTION_OR_STATEMENT_RE = re.compile(r"[。！？!?]$")
# The close of a notice: the issuing office, the date.
_SIGNATURE_RE = re.compile(
    r"(?:19|20)\d{2}\s*[年./-]\s*\d{1,2}\s*[月./-]\s*\d{1,2}\s*日?$|(?:部|局|委|厅|署|办|院|会|中心|政府|公司|集团|办公室)$"
)
TRAILER_MIN_SHARE = 0.5
"""A trailer heading ends the body only after this share of its characters, so an article that
opens with a "related" box does not lose its text."""
MENU_RUN = 4
"""A closing run of this many short unpunctuated lines is a menu or a form's choices, not text."""
REPEATED_LABEL = 5
"""A short line repeated this often is a label (a gallery's caption on every slide), never text."""
REPEATED_MIN_CHARS = 20
"""Lines this long are paragraphs: a repeated one is kept once."""


def normalize_line(text: str) -> str:
    """One line of article text with every kind of space (U+3000 ideographic, NBSP, thin …) read as
    one ASCII space, invisible characters (ZWSP, BOM, soft hyphen, icon-font glyphs in the private
    use area) removed, and the ends trimmed."""
    return _LINE_SPACES_RE.sub(" ", _INVISIBLE_RE.sub("", text)).strip(" \t\n")


def is_boilerplate_line(line: str) -> bool:
    """True for a whole line of page furniture: 责任编辑：…, 分享到, 打印本页, 【字体：大 中 小】,
    扫一扫, 关闭窗口, 上一篇 / 下一篇, copyright and ICP licence lines, bare counters."""
    line = line.strip()
    return (
        not line
        or bool(_BOILERPLATE_LINE_RE.match(line) or _JUNK_LINE_RE.match(line) or _TAG_LINE_RE.match(line))
        or (len(line) <= PROMO_MAX_CHARS and bool(_PROMO_LINE_RE.search(line) or _FOREIGN_WIDGET_RE.match(line)))
        or bool(_CREDIT_LINE_RE.match(line))
        or (len(line) <= NEWSLETTER_MAX_CHARS and bool(_NEWSLETTER_RE.search(line)))
        or (len(line) <= COOKIE_NOTICE_MAX_CHARS and bool(_COOKIE_NOTICE_RE.search(line)))
        or _is_button_row(line)
    )


def _is_button_row(line: str) -> bool:
    """A row of share buttons: "Tweet Share Email", "Facebook | Twitter | 微博"."""
    words = [word for word in _BUTTON_GAP_RE.split(line.casefold()) if word]
    return 0 < len(words) <= 8 and all(word in _WIDGET_WORDS for word in words)


def drop_boilerplate(lines: list[str]) -> list[str]:
    """Article paragraphs without page furniture: each line normalised (:func:`normalize_line`),
    boilerplate lines (:func:`is_boilerplate_line`) dropped, and everything from a trailing
    "相关新闻 / 相关阅读 / 网友评论 …" heading on cut off once most of the text is behind it."""
    kept = _drop_repeats([line for raw in lines if (line := _TRAILING_CREDIT_RE.sub("", normalize_line(raw)))])
    total = sum(len(line) for line in kept) or 1
    out: list[str] = []
    seen = 0
    for line in kept:
        if (
            _TRAILER_RE.match(_HEADING_DOTS_RE.sub("", line)) or _FOREIGN_TRAILER_RE.match(line)
        ) and seen / total >= TRAILER_MIN_SHARE:
            break
        seen += len(line)
        if not is_boilerplate_line(line):
            out.append(line)
    return _drop_closing_residue(out)


def _drop_repeats(lines: list[str]) -> list[str]:
    """A paragraph (REPEATED_MIN_CHARS or longer) once; a short line that recurs REPEATED_LABEL
    times or more (a gallery's caption on every slide, a button label) not at all. Short lines
    that recur a few times (a chorus, a line of code), short sentences and questions (the same
    questions put to each guest of an interview) and table rows are left alone."""
    counts = Counter(lines)
    seen: set[str] = set()
    out = []
    for line in lines:
        if "\t" not in line:
            if len(line) < REPEATED_MIN_CHARS:
                if counts[line] >= REPEATED_LABEL and not _QUESTION_OR_STATEMENT_RE.search(line):
                    continue
            elif line in seen:
                continue
            seen.add(line)
        out.append(line)
    return out


def _drop_closing_residue(lines: list[str]) -> list[str]:
    """Cut what widgets leave after the text: a closing run of short lines that are no sentence,
    table row, bracketed credit ("（张三）") or signature (an issuing office, a date) — when the run
    is short bits ("推荐0", "图集", "点击进入专题：") or MENU_RUN lines or more (a report form's
    choices, a tag cloud), and never when it is most of the text (a poem, lyrics)."""
    run = 0
    for line in reversed(lines):
        if not _is_residue(line):
            break
        run += 1
    closing = lines[len(lines) - run :]
    if not closing or sum(map(len, closing)) * 2 >= sum(map(len, lines)):
        return lines
    if run >= MENU_RUN or all(len(line) <= 12 for line in closing):
        return lines[: len(lines) - run]
    return lines


def _is_residue(line: str) -> bool:
    return (
        len(line) <= 20
        and "\t" not in line
        and not _SENTENCE_END_RE.search(line)
        and not (line[0] in "(（[【" and line[-1] in ")）]】")
        and not _SIGNATURE_RE.search(line)
    )
