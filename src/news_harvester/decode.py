"""Turn fetched bytes into text, getting GBK/GB2312/GB18030 right when labels disagree or lie.

Pure function, no I/O. Order of trust (after a source's explicit ``encoding`` override):
BOM → bytes that are valid UTF-8 stay UTF-8 → HTTP header charset → ``<meta>`` / XML prolog →
statistical detection (charset-normalizer). GB2312 and GBK labels are read as GB18030, their
superset, because Chinese sites routinely label GBK pages "gb2312" and use characters outside it.
A header of ISO-8859-1 / ASCII is weak (many servers send it by default), so a page's own
declaration wins over it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

from news_harvester.errors import DecodeError

_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
              "iso-8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252", "us-ascii": "cp1252"}
_WEAK_HEADER = {"cp1252", "ascii"}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_HEADER_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_XML_PROLOG_RE = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.I)
_META_RE = re.compile(
    rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I
)
MAX_REPLACEMENT_RATIO = 0.02


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
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _SUPERSETS.get(label, _SUPERSETS.get(name, name))


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
    declared_doc = document_charset(content)
    declared = declared_header or declared_doc
    if forced and (text := _strict(content, normalize_charset(forced))) is not None:
        return Decoded(text, declared, normalize_charset(forced) or forced)
    for bom, name in _BOMS:
        if content.startswith(bom):
            return Decoded(content[len(bom):].decode(name, "replace"), declared, name)
    if (text := _strict(content, "utf-8")) is not None:
        return Decoded(text, declared, "utf-8")
    header = normalize_charset(declared_header)
    doc = normalize_charset(declared_doc)
    order = [doc, header] if header in _WEAK_HEADER and doc else [header, doc]
    for name in order:
        if name and (text := _strict(content, name)) is not None:
            return Decoded(text, declared, name)
    guess = from_bytes(content[:200_000]).best()
    if guess is not None and (text := _strict(content, normalize_charset(guess.encoding))) is not None:
        return Decoded(text, declared, normalize_charset(guess.encoding) or guess.encoding)
    return _lenient(content, declared, header or doc or "utf-8")


def _strict(content: bytes, name: str | None) -> str | None:
    if not name:
        return None
    try:
        return content.decode(name)
    except (UnicodeDecodeError, LookupError):
        return None


def _lenient(content: bytes, declared: str | None, name: str) -> Decoded:
    """Last resort: decode with U+FFFD replacements, but refuse text that is mostly garbage."""
    text = content.decode(name, "replace")
    replaced = text.count("\ufffd")
    if replaced > max(8, MAX_REPLACEMENT_RATIO * len(text)):
        raise DecodeError(
            f"cannot decode body: declared {declared or 'nothing'}, {replaced} of {len(text)} "
            f"characters invalid under {name} and no charset detected",
            code="decode.charset",
        )
    return Decoded(text, declared, name, replaced=replaced)
