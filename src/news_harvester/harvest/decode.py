"""Turn fetched bytes into text, getting GBK/GB2312/GB18030 right when labels disagree or lie.

Pure function, no I/O. Order of trust (after a source's explicit ``encoding`` override):
BOM → BOM-less UTF-16/32 (recognised by the NUL bytes around the first ASCII character, as XML
1.0 appendix F does) → bytes that are valid UTF-8 stay UTF-8 → HTTP header charset →
``<meta>`` / XML prolog → bytes that are UTF-8 but for a few corrupt sequences (read with U+FFFD
for them) → a declared charset that fits but for a few bytes → statistical detection
(charset-normalizer), except on bytes that are UTF-8 with too many corrupt sequences → refuse.
GB2312 and GBK labels are read as GB18030, their superset, because Chinese sites routinely label
GBK pages "gb2312" and use characters outside it. A header of ISO-8859-1 / ASCII is weak (many
servers send it by default), so a page's own declaration wins over it.

"A few" is measured against the non-ASCII characters that did decode, never against the whole
document: a page is mostly ASCII markup, so a small share of its length can hide every Chinese
character being garbage.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

from news_harvester.errors import DecodeError

# GBK labels per the WHATWG Encoding Standard, all read as GB18030.
_GBK_LABELS = (
    "chinese",
    "csgb2312",
    "csiso58gb231280",
    "gb2312",
    "gb_2312",
    "gb_2312-80",
    "gbk",
    "iso-ir-58",
    "x-gbk",
    "cp936",
    "ms936",
    "windows-936",
    "euc-cn",
    "x-euc-cn",
)
_SUPERSETS = {
    **dict.fromkeys(_GBK_LABELS, "gb18030"),
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin_1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
}
_WEAK_HEADER = {"cp1252", "ascii"}
# Checked in this order: the UTF-32-LE BOM begins with the UTF-16-LE one. Explicit byte orders,
# because the BOM is stripped before decoding and a bare "utf-16" would then assume little-endian.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_XML_PROLOG_RE = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.I)
_META_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_HIGH_BYTE_RE = re.compile(rb"[\x80-\xff]")
# Invalid sequences allowed per correctly decoded non-ASCII character before a charset no longer
# "nearly fits". Real UTF-8 pages with a few corrupt bytes measure 1-4 %; GBK, Big5, Shift_JIS,
# EUC-KR or Windows-1252 text read as UTF-8 measures 60 % and more.
MAX_REPLACEMENT_RATIO = 0.1
DETECTION_SAMPLE_BYTES = 200_000
# Bytes are damaged UTF-8, not another charset, when valid 3/4-byte UTF-8 characters make up this share
# of the non-ASCII units (valid ones plus invalid sequences); GBK, Big5, Shift_JIS, EUC text read as
# UTF-8 measures 2-5 %.
BROKEN_UTF8_SHARE = 0.25
MIN_BROKEN_UTF8_CHARS = 8


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    charset_declared: str | None
    charset_used: str
    replaced: int = 0


def normalize_charset(label: str | None) -> str | None:
    """Python codec name for a charset label, widened to its superset; None if unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _SUPERSETS:  # some labels (x-gbk, csgb2312 …) are WHATWG names Python lacks
        return _SUPERSETS[label]
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def header_charset(content_type: str | None) -> str | None:
    match = _HEADER_CHARSET_RE.search(content_type or "")
    return match.group(1) if match else None


def document_charset(content: bytes) -> str | None:
    """Charset declared inside the document: the XML prolog, else the first ``<meta>`` tag."""
    head = content[:4096]
    match = _XML_PROLOG_RE.match(head) or _META_RE.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


def decode_body(content: bytes, content_type: str | None = None, forced: str | None = None) -> Decoded:
    """Decode ``content``; ``charset_declared`` records what the header / document claimed."""
    declared_header = header_charset(content_type)
    if forced and (text := _strict(content, normalize_charset(forced))) is not None:
        return Decoded(text, declared_header or document_charset(content), normalize_charset(forced) or forced)
    if (wide := _unicode_by_bom_or_nuls(content)) is not None:
        wide_text, wide_name, replaced = wide
        declared_wide = declared_header or document_charset(wide_text[:1024].encode("utf-8"))
        return Decoded(wide_text, declared_wide, wide_name, replaced)
    declared_doc = document_charset(content)
    declared = declared_header or declared_doc
    if (text := _strict(content, "utf-8")) is not None:
        return Decoded(text, declared, "utf-8")
    header = _eight_bit(normalize_charset(declared_header), content)
    doc = _eight_bit(normalize_charset(declared_doc), content)
    order = [doc, header] if header in _WEAK_HEADER and doc else [header, doc]
    for name in order:
        if name and (text := _strict(content, name)) is not None:
            return Decoded(text, declared, name)
    # Nearly fits: UTF-8 first (no legacy multi-byte text passes as UTF-8 for long), then what the
    # page declares; only a weak ISO-8859-1 / ASCII header is not trusted this far.
    for name in ["utf-8", *(n for n in order if n and n != "utf-8" and n not in _WEAK_HEADER)]:
        if (near := _nearly(content, name)) is not None:
            return Decoded(near[0], declared, name, replaced=near[1])
    if (broken := _broken_utf8(content)) is not None:
        valid, invalid = broken
        raise DecodeError(
            f"cannot decode body: declared {declared or 'nothing'}; the bytes are UTF-8 ({valid} valid 3- and 4-byte "
            f"characters) but {invalid} sequences are invalid, too many to replace and no other charset fits",
            code="decode.charset",
        )
    for name in _detected(content):
        if (text := _strict(content, name)) is not None:
            return Decoded(text, declared, name)
    fallback = header or doc or "utf-8"
    text = content.decode(fallback, "replace")
    raise DecodeError(
        f"cannot decode body: declared {declared or 'nothing'}, {text.count(chr(0xFFFD))} of "
        f"{_non_ascii(text)} non-ASCII characters invalid under {fallback} and no charset detected",
        code="decode.charset",
    )


def invalid_sequences(content: bytes, charset: str) -> int:
    """How many invalid byte sequences decoding ``content`` as ``charset`` replaced (0 when it is clean)."""
    try:
        content.decode(charset)
    except UnicodeDecodeError:
        pass
    except LookupError:
        return 0
    else:
        return 0
    return content.decode(charset, "replace").count("\ufffd") - content.decode(charset, "ignore").count("\ufffd")


def _unicode_by_bom_or_nuls(content: bytes) -> tuple[str, str, int] | None:
    for bom, name in _BOMS:
        if content.startswith(bom):
            body = content[len(bom) :]
            if (text := _strict(body, name)) is not None:
                return text, name, 0
            lenient = body.decode(name, "replace")
            return lenient, name, lenient.count("\ufffd")
    head = content[:4]
    if len(head) < 4 or 0 not in head or any(b >= 0x80 for b in head):
        return None
    zero = (head[0] == 0, head[1] == 0, head[2] == 0, head[3] == 0)
    wide = {
        (True, True, True, False): "utf-32-be",
        (False, True, True, True): "utf-32-le",
        (True, False, True, False): "utf-16-be",
        (False, True, False, True): "utf-16-le",
    }.get(zero)
    if wide is None or (text := _strict(content, wide)) is None:
        return None
    return text, wide, 0


def _eight_bit(name: str | None, content: bytes) -> str | None:
    """Drop a UTF-16/32 label on bytes without NULs: the label was copied, the bytes are 8-bit
    (HTML's rule too). Decoding them as UTF-16 would "succeed" and yield CJK-looking garbage."""
    if name and name.startswith(("utf-16", "utf-32")) and b"\x00" not in content[:4096]:
        return None
    return name


def _strict(content: bytes, name: str | None) -> str | None:
    if not name:
        return None
    try:
        return content.decode(name)
    except (UnicodeDecodeError, LookupError):
        return None


def _non_ascii(text: str) -> int:
    return len(text) - len(text.encode("ascii", "ignore"))


def _nearly(content: bytes, name: str) -> tuple[str, int] | None:
    """Text and replacement count when ``name`` decodes all but a few of the non-ASCII characters."""
    try:
        text = content.decode(name, "replace")
    except LookupError:
        return None
    replaced = text.count("\ufffd")
    decoded = _non_ascii(text) - replaced
    if replaced <= MAX_REPLACEMENT_RATIO * decoded:
        return text, replaced
    return None


def _broken_utf8(content: bytes) -> tuple[int, int] | None:
    """(valid, invalid) when ``content`` is UTF-8 damaged beyond repair, else None.

    Legacy CJK encodings read as UTF-8 form a valid 3-byte sequence only by chance (2-5 % of their
    characters); UTF-8 with corrupt bytes keeps most of its 3-byte characters. Detection must not
    run on such bytes: a single-byte code page "decodes" anything, and would store mojibake as text.
    """
    text = content.decode("utf-8", "replace")
    invalid = text.count("\ufffd")
    valid = sum(1 for ch in text if ch >= "\u0800" and ch != "\ufffd")
    if valid >= MIN_BROKEN_UTF8_CHARS and valid >= BROKEN_UTF8_SHARE * (valid + invalid):
        return valid, invalid
    return None


def _detected(content: bytes) -> list[str]:
    """Candidate codecs, best first, from the lines that hold non-ASCII bytes.

    Pages are mostly ASCII markup and scripts; fed whole, the detector sees little of the text and
    favours single-byte code pages that decode anything. The sample is cut after a byte below 0x40,
    which is never inside a multi-byte character of UTF-8, GBK, Big5, Shift_JIS or EUC.
    """
    sample = b"\n".join(line for line in content.split(b"\n") if _HIGH_BYTE_RE.search(line))
    if len(sample) > DETECTION_SAMPLE_BYTES:
        cut = DETECTION_SAMPLE_BYTES
        while cut > 0 and sample[cut - 1] >= 0x40:
            cut -= 1
        sample = sample[: cut or DETECTION_SAMPLE_BYTES]
    names: list[str] = []
    for match in from_bytes(sample):
        name = normalize_charset(match.encoding)
        if name and name not in names:
            names.append(name)
    return names
