"""OPML import and export of sources (pure functions: text in, entries or text out).

Import (:func:`parse_opml`): every ``<outline>`` with an ``xmlUrl`` becomes a ``kind: feed`` source —
id from a slug of its title (or its host, for titles without Latin letters), name from ``title`` or
``text``, topics from the folders it is nested in (and its ``category`` attribute). Outlines without a
feed URL, with an invalid URL or whose settings do not validate are returned as problems with their
line and the reason; the others are still imported. Documents with a DOCTYPE or entity declarations
are refused outright (no entity expansion, no external entities, no network).

Export (:func:`to_opml`): feed sources as standard ``<outline type="rss" text title xmlUrl htmlUrl>``
that any feed reader imports; every source also carries its settings in attributes of the
``https://news-harvester/opml`` namespace (``nh:id``, ``nh:kind``, ``nh:schedule``, ``nh:weight``,
``nh:enabled`` and ``nh:spec``, the compact JSON of its non-default fields), so HTML list pages and
JSON APIs (``type="link" url=…``) and every setting survive a round trip through our own import.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lxml import etree  # type: ignore[import-untyped]
from pydantic import ValidationError

from news_harvester.config import SourceSpec
from news_harvester.errors import HarvesterError

__all__ = [
    "NH_NS",
    "ImportPlan",
    "OpmlError",
    "OpmlProblem",
    "Skipped",
    "parse_opml",
    "plan_import",
    "slug",
    "to_opml",
    "url_key",
]

NH_NS = "https://news-harvester/opml"
"""Namespace of our own outline attributes (prefix ``nh``)."""

_MAX_BYTES = 10_000_000
_HOSTILE_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_URL_RE = re.compile(r"^https?://[^/\s?#]+")
_ID_MAX = 64
_REQUIRED = ("id", "name", "kind", "url")


class OpmlError(HarvesterError):
    """The document as a whole cannot be read (not XML, not OPML, or refused as hostile)."""

    code = "opml.invalid"


@dataclass(frozen=True, slots=True)
class OpmlProblem:
    """An outline that was not imported, and why."""

    line: int | None
    title: str
    url: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        what = self.title or self.url or "(outline without text)"
        return f"{where}{what}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry not imported because the source is already configured (or listed twice)."""

    entry: dict[str, Any]
    reason: str
    existing_id: str


@dataclass(slots=True)
class ImportPlan:
    """What an import would do: ``add`` (entries ready for ``source_admin.add_sources``), ``skipped``
    (URL already configured) and ``refused`` (entries that do not validate with the file's defaults)."""

    add: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    refused: list[OpmlProblem] = field(default_factory=list)


# --------------------------------------------------------------------------- import


def parse_opml(text: str | bytes) -> tuple[list[dict[str, Any]], list[OpmlProblem]]:
    """Source entries (ids unique within the document) and the outlines that were refused.

    An outline of our own export (``nh:spec``) gives every top-level field, SourceSpec's defaults
    included, so that a target file's different ``defaults:`` cannot change it; :func:`plan_import`
    trims each entry to what the target file needs, so pass entries through it before adding them.

    Raises :class:`OpmlError` when the document cannot be read at all.
    """
    root = _parse(text)
    body = next((child for child in root if child.tag == "body"), None)
    if body is None:
        raise OpmlError("not an OPML document: no <body> element")
    entries: list[dict[str, Any]] = []
    problems: list[OpmlProblem] = []
    taken: set[str] = set()
    for outline, folders in _outlines(body, ()):
        entry, problem = _entry(outline, folders)
        if problem is not None:
            problems.append(problem)
            continue
        assert entry is not None
        entry["id"] = _unique(str(entry["id"]), taken)
        taken.add(entry["id"])
        entries.append(entry)
    return entries, problems


def _parse(text: str | bytes) -> Any:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > _MAX_BYTES:
        raise OpmlError(f"OPML file larger than {_MAX_BYTES // 1_000_000} MB refused")
    if _HOSTILE_RE.search(raw) or _HOSTILE_RE.search(raw.replace(b"\x00", b"")):
        raise OpmlError("OPML with a DOCTYPE or entity declarations refused (entity expansion, external entities)")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        if isinstance(text, str):
            root = etree.fromstring(_DECLARATION_RE.sub("", text, count=1), parser)
        else:
            root = etree.fromstring(text, parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None
    if root is None:
        raise OpmlError("not an OPML document: empty")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise OpmlError("OPML with a DOCTYPE or entity declarations refused (entity expansion, external entities)")
    for element in root.iter():
        if not isinstance(element.tag, str):  # an entity reference left unexpanded
            raise OpmlError("OPML with entity references refused")
    if etree.QName(root).localname != "opml" or etree.QName(root).namespace:
        raise OpmlError(f"not an OPML document: the root element is <{etree.QName(root).localname}>, not <opml>")
    return root


def _outlines(parent: Any, folders: tuple[str, ...]) -> Iterator[tuple[Any, tuple[str, ...]]]:
    """``(outline, enclosing folder titles)`` for every outline that is (or should be) a source."""
    for outline in parent:
        if outline.tag != "outline":
            continue
        attrs = _attrs(outline)
        children = [c for c in outline if c.tag == "outline"]
        is_source = bool(attrs.get("xmlurl") or attrs.get("nh:spec") or attrs.get("nh:kind"))
        empty_folder = not children and not any(attrs.get(k) for k in ("type", "xmlurl", "url", "htmlurl"))
        if is_source or not (children or empty_folder):
            yield outline, folders
        if children:
            label = (attrs.get("title") or attrs.get("text") or "").strip()
            yield from _outlines(outline, (*folders, label) if label and not is_source else folders)


def _attrs(outline: Any) -> dict[str, str]:
    """Attributes with standard names lower-cased (``xmlUrl``, ``xmlurl``) and ours as ``nh:…``."""
    out: dict[str, str] = {}
    for name, value in outline.attrib.items():
        qname = etree.QName(name)
        if qname.namespace == NH_NS:
            out[f"nh:{qname.localname}"] = value
        elif qname.namespace is None:
            out[qname.localname.lower()] = value
    return out


def _entry(outline: Any, folders: tuple[str, ...]) -> tuple[dict[str, Any] | None, OpmlProblem | None]:
    attrs = _attrs(outline)
    line = outline.sourceline
    label = " ".join((attrs.get("title") or attrs.get("text") or "").split())
    raw_url = (attrs.get("xmlurl") or attrs.get("url") or attrs.get("htmlurl") or "").strip() or None

    def refuse(reason: str, url: str | None = raw_url) -> tuple[None, OpmlProblem]:
        return None, OpmlProblem(line, label, url, reason)

    if attrs.get("nh:spec"):
        try:
            spec = json.loads(attrs["nh:spec"])
        except ValueError as exc:
            return refuse(f"nh:spec is not valid JSON ({exc})")
        if not isinstance(spec, dict):
            return refuse("nh:spec is not a JSON object")
        entry: dict[str, Any] = dict(spec)
    elif attrs.get("xmlurl") or attrs.get("nh:kind"):
        kind = attrs.get("nh:kind", "feed")
        url = attrs.get("xmlurl") if kind == "feed" else (attrs.get("url") or attrs.get("xmlurl"))
        url = _feed_scheme((url or "").strip())
        if not url:
            return refuse("no xmlUrl: not a feed subscription")
        if not _URL_RE.match(url):
            return refuse(f"xmlUrl {url!r} is not an absolute http(s) URL", url)
        topics = _topics(folders, attrs.get("category", ""))
        entry = {
            "id": attrs.get("nh:id") or _id_for(label, url),
            "name": label or _host(url),
            "kind": kind,
            "url": url,
        }
        if attrs.get("nh:schedule"):
            entry["schedule"] = attrs["nh:schedule"]
        if attrs.get("nh:weight"):
            entry["weight"] = _number(attrs["nh:weight"])
        if attrs.get("nh:enabled", "").lower() in ("false", "0", "no"):
            entry["enabled"] = False
        language = attrs.get("language", "").strip().replace("_", "-").split("-")[0].lower()
        if language:
            entry["language"] = language
        if topics:
            entry["topics"] = topics
    else:
        kind_hint = f" (type {attrs['type']!r})" if attrs.get("type") else ""
        return refuse(f"no xmlUrl: not a feed subscription{kind_hint}")
    missing = [key for key in _REQUIRED if not entry.get(key)]
    if missing:
        return refuse(f"field {missing[0]}: required but missing", entry.get("url") or raw_url)
    try:
        validated = SourceSpec.model_validate(entry)
    except ValidationError as exc:
        return refuse(_reason(exc), str(entry.get("url") or raw_url))
    return (_complete(validated) if "nh:spec" in attrs else entry), None


def _id_for(label: str, url: str) -> str:
    """A slug of the title when it has Latin letters (``"ASEAN Briefing"``), else of the host
    without ``www.`` (``36氪`` at 36kr.com → ``36kr-com``)."""
    from_title = slug(label)
    if re.search("[a-z]", from_title):
        return from_title
    return slug(_host_label(url)) or "feed"


def _feed_scheme(url: str) -> str:
    """``feed://host/x`` and ``feed:https://host/x`` (old feed-reader links) as http(s) URLs."""
    if url.startswith("feed:"):
        rest = url[len("feed:") :]
        return rest if rest.startswith(("http://", "https://")) else "http:" + rest
    return url


def _reason(exc: ValidationError) -> str:
    err = exc.errors()[0]
    name = ".".join(str(p) for p in err["loc"]) or "source"
    if err["type"] == "extra_forbidden":
        return f"field {name}: unknown field"
    if err["type"] == "missing":
        return f"field {name}: required but missing"
    return f"field {name} = {err.get('input')!r}: {err['msg']}"


def _topics(folders: Sequence[str], category: str) -> list[str]:
    out: list[str] = []
    for name in [*folders, *category.split(",")]:
        name = " ".join(name.split()).strip("/").strip()
        if name and name not in out:
            out.append(name)
    return out


def _number(text: str) -> int | float | str:
    try:
        value = float(text)
    except ValueError:
        return text  # validation names the field
    return int(value) if value.is_integer() else value


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _host_label(url: str) -> str:
    host = _host(url)
    return host[4:] if host.startswith("www.") else host


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits joined by ``-`` (``"EDPS – Press"`` → ``"edps-press"``);
    empty when the text has no Latin letters or digits (e.g. ``商务部网站``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:48].strip("-")


def _unique(base: str, taken: set[str] | Mapping[str, Any]) -> str:
    base = base[:_ID_MAX]
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: _ID_MAX - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def url_key(url: str) -> str:
    """What makes two source URLs the same: host (lower-case) and path without a trailing slash,
    and the query; the scheme and a fragment do not count."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    return f"{host}{port}{path}{'?' + parts.query if parts.query else ''}"


def plan_import(
    entries: Sequence[Mapping[str, Any]],
    existing: Sequence[SourceSpec],
    defaults: Mapping[str, Any] | None = None,
) -> ImportPlan:
    """Decide what to add to a sources file holding ``existing`` (with its ``defaults:``).

    An entry whose URL is already configured (or appeared earlier in ``entries``) is skipped; ids are
    made unique against the file (``-2``, ``-3`` …). Fields equal to what the file would give them
    anyway (its ``defaults:``, else SourceSpec's defaults) are left out, so an entry exported from one
    file recreates the same source in another with no more lines than needed. Entries that do not
    validate with the defaults are refused.
    """
    defaults = dict(defaults or {})
    plan = ImportPlan()
    by_url = {url_key(spec.url): spec.id for spec in existing}
    ids: set[str] = {spec.id for spec in existing}
    for original in entries:
        entry = dict(original)
        url = str(entry.get("url", ""))
        key = url_key(url)
        if key in by_url:
            plan.skipped.append(Skipped(entry, f"already configured as {by_url[key]!r}", by_url[key]))
            continue
        entry = _minimal(entry, defaults)
        entry["id"] = _unique(str(entry.get("id", "")), ids)
        try:
            SourceSpec.model_validate({**defaults, **entry})
        except ValidationError as exc:
            plan.refused.append(OpmlProblem(None, str(entry.get("name", "")), url or None, _reason(exc)))
            continue
        ids.add(entry["id"])
        by_url[key] = entry["id"]
        plan.add.append(entry)
    return plan


def _minimal(entry: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``entry`` without the fields that equal what the file would give them anyway (its
    ``defaults:``, else SourceSpec's default); ``None`` means absent."""
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if value is None:
            continue
        if key not in _REQUIRED and key in SourceSpec.model_fields:
            default = defaults[key] if key in defaults else _model_default(key)
            if value == default:
                continue
        out[key] = value
    return out


def _model_default(key: str) -> Any:
    info = SourceSpec.model_fields[key]
    if info.is_required():
        return None
    value = info.get_default(call_default_factory=True)
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def _complete(spec: SourceSpec) -> dict[str, Any]:
    """Every top-level field of ``spec`` (nested ones only where they differ from their defaults):
    an exported source keeps SourceSpec's defaults even in a file whose ``defaults:`` differ."""
    data: dict[str, Any] = spec.model_dump(mode="json", exclude_defaults=True)
    return {name: data[name] if name in data else _model_default(name) for name in SourceSpec.model_fields}


# --------------------------------------------------------------------------- export


def to_opml(sources: Sequence[SourceSpec], *, title: str = "news_harvester sources") -> str:
    """An OPML 2.0 document of ``sources``, in order (see the module docstring)."""
    root = etree.Element("opml", version="2.0", nsmap={"nh": NH_NS})
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _xml_text(title)
    body = etree.SubElement(root, "body")
    for spec in sources:
        name = _xml_text(spec.name)
        outline = etree.SubElement(body, "outline")
        outline.set("text", name)
        outline.set("title", name)
        if spec.kind == "feed":
            outline.set("type", "rss")
            outline.set("xmlUrl", spec.url)
            outline.set("htmlUrl", _origin(spec.url))
        else:
            outline.set("type", "link")
            outline.set("url", spec.url)
            outline.set("htmlUrl", spec.url if spec.kind == "html" else _origin(spec.url))
        if spec.language:
            outline.set("language", spec.language)
        outline.set(f"{{{NH_NS}}}id", spec.id)
        outline.set(f"{{{NH_NS}}}kind", spec.kind)
        outline.set(f"{{{NH_NS}}}schedule", spec.schedule)
        outline.set(f"{{{NH_NS}}}weight", _format_number(spec.weight))
        if not spec.enabled:
            outline.set(f"{{{NH_NS}}}enabled", "false")
        outline.set(
            f"{{{NH_NS}}}spec", _xml_text(json.dumps(_spec_json(spec), ensure_ascii=False, separators=(",", ":")))
        )
    text: bytes = etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")
    return text.decode("utf-8")


def _spec_json(spec: SourceSpec) -> dict[str, Any]:
    """The source's fields that differ from SourceSpec's defaults, plus the required ones."""
    data: dict[str, Any] = spec.model_dump(mode="json", exclude_defaults=True)
    for key in ("id", "name", "kind", "url"):
        data.setdefault(key, getattr(spec, key))
    order = list(SourceSpec.model_fields)
    return {key: data[key] for key in sorted(data, key=order.index)}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Drop the control characters XML 1.0 cannot carry."""
    return _XML_BAD.sub("", text)
