"""Edit ``sources.yaml`` from the CLI and the web admin; the YAML file stays the only truth.

Every edit is a locked read-modify-write of the file:

1. take an advisory lock (``fcntl.flock`` on ``<name>.lock`` beside the file), so CLI and web edits
   never interleave;
2. read the file and load it with ruamel.yaml's round-trip loader;
3. apply the change to that document and validate the **whole** result with the same rules as
   ``config.load_sources`` (``config.parse_sources``, duplicate ids included) — an invalid result
   raises :class:`SourceEditError` and the file is not touched;
4. render the new text so that everything outside the changed entry is byte-for-byte the old text
   (header comment, other entries, their comments, blank lines): the changed entry's lines are
   taken from ruamel's dump and spliced into the old text, and the splice is checked by re-reading
   it (if it does not read back as the intended document, ruamel's full dump is written instead);
5. if the file changed on disk since step 2 (a hand edit without the lock), start again from 2;
6. write a temporary file in the same directory, fsync it, keep a timestamped copy of the old file
   in ``backups/`` beside it (the newest :data:`KEEP_BACKUPS`), and ``os.replace`` it into place.

A running daemon picks the new file up like any hand edit (``reload_interval``). Comments that
describe an entry (the comment lines directly above its ``- id:``, up to a ``# ----`` divider) are
removed with it.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import io
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from news_harvester.config import (
    DatasourceSpec,
    PaginationSpec,
    SelectorSpec,
    SourcesConfig,
    SourceSpec,
    is_packaged_default,
    parse_sources,
)
from news_harvester.errors import ConfigError

__all__ = [
    "BACKUP_DIR",
    "KEEP_BACKUPS",
    "SourceEditError",
    "add_source",
    "add_sources",
    "backups",
    "check_source",
    "check_update",
    "file_defaults",
    "remove_source",
    "set_enabled",
    "source_entry",
    "update_source",
]

BACKUP_DIR = "backups"
"""Directory beside sources.yaml that keeps a copy of the file as it was before each edit."""
KEEP_BACKUPS = 10
LOCK_TIMEOUT = 10.0
"""Seconds an edit waits for another one to finish before giving up."""
_ATTEMPTS = 5
"""Re-reads when the file keeps changing under us (hand edits without the lock)."""

_FIELD_ORDER: tuple[str, ...] = tuple(SourceSpec.model_fields)
_NESTED_ORDER: dict[str, tuple[str, ...]] = {
    "selectors": tuple(SelectorSpec.model_fields),
    "pagination": tuple(PaginationSpec.model_fields),
    "datasource": tuple(DatasourceSpec.model_fields),
    "fields": ("items", "title", "url", "date", "summary", "id", "author"),
}
_REQUIRED = ("id", "name", "kind", "url")
_DIVIDER_RE = re.compile(r"^\s*#\s*[-=~*#]{8,}")


class SourceEditError(ConfigError):
    """An edit of sources.yaml was refused; the message names the field and the problem.

    The file is unchanged when this is raised.
    """

    code = "config.sources_edit"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="config.sources_edit")


# --------------------------------------------------------------------------- public API


def add_source(path: Path, entry: Mapping[str, Any]) -> SourceSpec:
    """Append ``entry`` at the end of the ``sources:`` list; return the validated source."""
    return add_sources(path, [entry])[0]


def add_sources(path: Path, entries: Sequence[Mapping[str, Any]]) -> list[SourceSpec]:
    """Append several entries in one write (one validation, one backup); all or nothing."""
    if not entries:
        return []
    for entry in entries:
        _check_entry_shape(entry)
    prepared = [_ordered(dict(entry)) for entry in entries]

    def change(doc: _Doc) -> _Change:
        seq = doc.sources(create=True)
        existing = _ids(seq)
        for entry in prepared:
            source_id = str(entry.get("id"))
            if source_id in existing:
                line = existing[source_id]
                where = f" (line {line})" if line else ""
                raise SourceEditError(
                    f"{doc.path}: field id = {source_id!r}: a source with this id already exists{where}\n"
                    f"  hint: every source needs its own id, e.g. {source_id + '-2'!r}"
                )
            existing[source_id] = None
            seq.append(_node(entry))
        return _Change("add", len(seq) - len(prepared), [str(e["id"]) for e in prepared])

    config = _edit(path, change)
    return [_spec(config, str(e["id"])) for e in prepared]


def check_source(path: Path, entry: Mapping[str, Any]) -> SourceSpec:
    """Validate ``entry`` exactly as :func:`add_source` would (defaults, duplicate ids, the whole
    file), without writing anything; e.g. to test a source before saving it."""
    _check_entry_shape(entry)
    doc = _Doc.read(path)
    seq = doc.sources(create=True)
    source_id = str(entry.get("id"))
    if source_id in _ids(seq):
        raise SourceEditError(
            f"{path}: field id = {source_id!r}: a source with this id already exists\n"
            f"  hint: every source needs its own id, e.g. {source_id + '-2'!r}"
        )
    seq.append(_node(_ordered(dict(entry))))
    return _spec(_validate(doc), source_id)


def update_source(path: Path, source_id: str, changes: Mapping[str, Any]) -> SourceSpec:
    """Change some fields of one source, keeping its comments and key order.

    ``changes`` maps a field to its new value; ``None`` removes the field. A dotted key changes one
    nested field (``"selectors.item"``, ``"headers.Referer"``); a mapping value replaces the whole
    mapping (unchanged keys keep their comments). A value equal to the current one leaves its text
    alone, so an edit form may send every field. The id cannot be changed (runtime state is keyed
    by it): add a new source and remove the old one instead.
    """
    if not changes:
        return _spec(_read_config(path), source_id)
    _check_changes(path, source_id, changes)
    return _spec(_edit(path, lambda doc: _apply_changes(doc, source_id, changes)), source_id)


def check_update(path: Path, source_id: str, changes: Mapping[str, Any]) -> SourceSpec:
    """Validate ``changes`` exactly as :func:`update_source` would (defaults merged, the whole file),
    without writing anything; returns the source as it would be, e.g. to test it before saving."""
    _check_changes(path, source_id, changes)
    doc = _Doc.read(path)
    _apply_changes(doc, source_id, changes)
    return _spec(_validate(doc), source_id)


def _check_changes(path: Path, source_id: str, changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise SourceEditError(f"{path}: source {source_id!r}: field {key!r} is not a field name")
        _check_value(f"{path}: source {source_id!r}: field {key}", value)


def _apply_changes(doc: _Doc, source_id: str, changes: Mapping[str, Any]) -> _Change:
    index, item = doc.find(source_id)
    what = _Change("update", index, [source_id], _entry_text(doc, [item]))
    for key, value in changes.items():
        top = key.split(".")[0]
        if top == "id":
            if value is not None and key == "id" and str(value) == source_id:
                continue
            raise SourceEditError(
                f"{doc.path}: source {source_id!r}: field id cannot be changed (the database keys the "
                f"source's state by it)\n  hint: add a source with the new id and remove this one"
            )
        if key in _REQUIRED and value is None:
            raise SourceEditError(f"{doc.path}: source {source_id!r}: field {key} is required and cannot be removed")
        _set_path(item, key.split("."), value)
    return what


def set_enabled(path: Path, source_id: str, enabled: bool) -> SourceSpec:
    """Enable or disable a source. ``enabled: false`` is written after ``schedule``/``url``; enabling
    drops that line again (enabled is the default) unless it carries a comment, which then stays
    with ``enabled: true``."""

    def change(doc: _Doc) -> _Change:
        index, item = doc.find(source_id)
        what = _Change("update", index, [source_id], _entry_text(doc, [item]))
        by_default = bool(doc.defaults().get("enabled", True))
        if enabled == by_default and "enabled" in item and not _has_comment(item, "enabled"):
            _set_path(item, ["enabled"], None)  # back to the default: drop the line (disable + enable = no change)
        elif "enabled" in item or enabled != by_default:
            _set_path(item, ["enabled"], enabled)
        return what

    return _spec(_edit(path, change), source_id)


def _has_comment(node: CommentedMap, key: str) -> bool:
    return bool(getattr(node, "ca", None) is not None and node.ca.items.get(key))


def remove_source(path: Path, source_id: str) -> None:
    """Remove a source and the comment lines directly above it (up to a ``# ----`` divider)."""

    def change(doc: _Doc) -> _Change:
        index, _item = doc.find(source_id)
        del doc.sources()[index]
        return _Change("remove", index, [source_id])

    _edit(path, change)


def source_entry(path: Path, source_id: str) -> dict[str, Any]:
    """The source's entry as written in the file (plain values, ``defaults:`` not merged)."""
    _index, item = _Doc.read(path).find(source_id)
    plain = _plain(item)
    assert isinstance(plain, dict)
    return plain


def file_defaults(path: Path) -> dict[str, Any]:
    """The file's top-level ``defaults:`` mapping (empty when there is none)."""
    return _Doc.read(path).defaults()


def backups(path: Path) -> list[Path]:
    """Backups of ``path`` written by edits, oldest first."""
    folder = path.parent / BACKUP_DIR
    if not folder.is_dir():
        return []
    pattern = _backup_re(path)
    return sorted(p for p in folder.iterdir() if pattern.match(p.name))


# --------------------------------------------------------------------------- the document


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap lines
    return yaml


@dataclass
class _Change:
    kind: str  # add | update | remove
    index: int  # the entry changed or removed; the first entry added
    ids: list[str]
    base: list[str] | None = None  # update: ruamel's text of the entry before the change


class _Doc:
    """One read of sources.yaml: its bytes, text and ruamel round-trip document."""

    def __init__(self, path: Path, raw: bytes, text: str, data: CommentedMap, yaml: YAML) -> None:
        self.path = path
        self.raw = raw
        self.text = text
        self.data = data
        self.yaml = yaml

    @classmethod
    def read(cls, path: Path) -> _Doc:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise SourceEditError(f"{path}: sources file not found") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceEditError(f"{path}: not UTF-8 text ({exc})") from None
        yaml = _yaml()
        try:
            data = yaml.load(text)
        except YAMLError as exc:
            raise SourceEditError(f"{path}: not valid YAML, fix the file first: {exc}") from None
        if data is None:
            data = CommentedMap()
        if not isinstance(data, CommentedMap):
            raise SourceEditError(f"{path}: expected a mapping with a 'sources:' list at the top level")
        _set_indent(yaml, data, text)
        return cls(path, raw, text, data, yaml)

    def sources(self, *, create: bool = False) -> CommentedSeq:
        seq = self.data.get("sources")
        if seq is None and create:
            seq = CommentedSeq()
            self.data["sources"] = seq
        if isinstance(seq, CommentedSeq) and create and not seq:
            seq.fa.set_block_style()
        if not isinstance(seq, CommentedSeq):
            raise SourceEditError(f"{self.path}: expected a 'sources:' list at the top level")
        return seq

    def find(self, source_id: str) -> tuple[int, CommentedMap]:
        for index, item in enumerate(self.sources()):
            if isinstance(item, CommentedMap) and str(item.get("id")) == source_id:
                return index, item
        raise SourceEditError(f"{self.path}: no source with id {source_id!r} (field id)")

    def defaults(self) -> dict[str, Any]:
        value = _plain(self.data.get("defaults") or {})
        return value if isinstance(value, dict) else {}

    def dump(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        return out.getvalue()


def _set_indent(yaml: YAML, data: CommentedMap, text: str) -> None:
    """Dump with the file's own indentation (``sources:`` / ``  - id:`` / ``    name:`` by default)."""
    mapping, sequence, offset = 2, 4, 2
    seq = data.get("sources")
    key_pos = _lc_key(data, "sources")
    item_pos = _lc_item(seq, 0) if isinstance(seq, CommentedSeq) and seq else None
    if key_pos is not None and item_pos is not None and item_pos[0] > key_pos[0]:
        line = text.splitlines()[item_pos[0]]
        dash = len(line) - len(line.lstrip())
        if line.lstrip().startswith("-") and dash < item_pos[1]:
            sequence = max(item_pos[1] - key_pos[1], 2)
            offset = min(max(dash - key_pos[1], 0), sequence - 2)
        assert isinstance(seq, CommentedSeq)
        for item in seq:
            if not isinstance(item, CommentedMap):
                continue
            outer = _lc_of(item)
            inner = next((_lc_of(v) for v in item.values() if isinstance(v, CommentedMap) and v), None)
            if outer is not None and inner is not None and inner[1] > outer[1]:
                mapping = inner[1] - outer[1]
                break
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)


def _lc_of(node: Any) -> tuple[int, int] | None:
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return None
    return int(lc.line), int(lc.col)


def _lc_key(node: CommentedMap, key: str) -> tuple[int, int] | None:
    try:
        line, col = node.lc.key(key)
    except (KeyError, TypeError, AttributeError):
        return None
    return int(line), int(col)


def _lc_item(node: CommentedSeq, index: int) -> tuple[int, int] | None:
    try:
        line, col = node.lc.item(index)
    except (KeyError, TypeError, AttributeError, IndexError):
        return None
    return int(line), int(col)


# --------------------------------------------------------------------------- the edit loop


def _edit(path: Path, change: Callable[[_Doc], _Change]) -> SourcesConfig:
    if is_packaged_default(path):
        raise SourceEditError(
            f"{path}: this is the packaged default sources.yaml, which is not edited in place\n"
            "  hint: run `news-harvester init` to write an editable copy (config/sources.yaml) and start from there"
        )
    if path.is_symlink():
        path = path.resolve()  # replace the file the link points to, not the link
    with _locked(path):
        for _attempt in range(_ATTEMPTS):
            doc = _Doc.read(path)
            old_spans = _spans(doc.text, doc.data)
            what = change(doc)
            config = _validate(doc)
            text = _render(doc, what, old_spans)
            if text == doc.text:
                return config
            if _raw(path) != doc.raw:
                continue  # edited by hand meanwhile: apply the change to the new text
            _replace(path, doc.raw, text)
            return config
    raise SourceEditError(f"{path}: the file kept changing while it was being edited; try again")


def _raw(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _validate(doc: _Doc) -> SourcesConfig:
    try:
        return parse_sources(doc.data, doc.path)
    except ConfigError as exc:
        raise SourceEditError(f"not saved, the file is unchanged: {exc}") from None


def _read_config(path: Path) -> SourcesConfig:
    return _validate(_Doc.read(path))


def _spec(config: SourcesConfig, source_id: str) -> SourceSpec:
    spec = config.get(source_id)
    if spec is None:
        raise SourceEditError(f"{config.path}: no source with id {source_id!r} (field id)")
    return spec


@contextlib.contextmanager
def _locked(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Exclusive advisory lock on ``<path>.lock`` (the file is left in place: unlinking a lock
    file races with a process that just opened it)."""
    lock_path = path.with_name(path.name + ".lock")
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise SourceEditError(f"{path}: cannot create the lock file {lock_path}: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SourceEditError(
                        f"{path}: another edit holds {lock_path} for more than {timeout:.0f}s; try again"
                    ) from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _replace(path: Path, old: bytes, text: str) -> None:
    """Temp file in the same directory, fsync, backup of the old bytes, atomic rename."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(mode)
        _backup(path, old)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _backup(path: Path, old: bytes) -> Path:
    folder = path.parent / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = folder / f"{path.stem}.{stamp}{path.suffix}"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{path.stem}.{stamp}-{n}{path.suffix}"
    with target.open("wb") as handle:
        handle.write(old)
        handle.flush()
        os.fsync(handle.fileno())
    for stale in backups(path)[:-KEEP_BACKUPS]:
        stale.unlink(missing_ok=True)
    return target


def _backup_re(path: Path) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(path.stem)}\.\d{{8}}T\d{{6}}\.\d{{6}}Z(?:-\d+)?{re.escape(path.suffix)}$")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- rendering


@dataclass
class _Spans:
    """Where each entry of ``sources:`` is in a text: ``starts[i]`` is the line of its dash,
    ``ends[i]`` the line after its last content line (comment and blank lines that follow an entry
    are not part of it: they describe the next one)."""

    lines: list[str]
    floor: int  # the line after ``sources:``
    starts: list[int]
    ends: list[int]


def _spans(text: str, data: Any) -> _Spans | None:
    lines = text.splitlines(keepends=True)
    if not isinstance(data, CommentedMap):
        return None
    seq = data.get("sources")
    key_pos = _lc_key(data, "sources")
    if not isinstance(seq, CommentedSeq) or key_pos is None or seq.fa.flow_style():
        return None
    starts: list[int] = []
    for index in range(len(seq)):
        pos = _lc_item(seq, index)
        if pos is None or pos[0] >= len(lines):
            return None
        line = pos[0]
        while line > key_pos[0] and not _is_dash(lines[line]):
            line -= 1
        if not _is_dash(lines[line]) or (starts and line <= starts[-1]):
            return None
        starts.append(line)
    keys = list(data)
    region_end = len(lines)
    following = keys[keys.index("sources") + 1 :]
    if following:
        next_pos = _lc_key(data, following[0])
        if next_pos is None:
            return None
        region_end = next_pos[0]
    ends: list[int] = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else region_end
        while end > start + 1 and _is_trivia(lines[end - 1]):
            end -= 1
        ends.append(end)
    return _Spans(lines, key_pos[0] + 1, starts, ends)


def _is_dash(line: str) -> bool:
    stripped = line.strip()
    return stripped == "-" or line.lstrip().startswith(("- ", "-\t"))


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _is_trivia(line: str) -> bool:
    return not line.strip() or _is_comment(line)


def _render(doc: _Doc, change: _Change, old: _Spans | None) -> str:
    """The new file text: the old text with only the changed entry replaced, added or removed.

    Candidates from most to least faithful; the first that reads back as the intended document wins
    (the last one, ruamel's dump of the whole document, always does).
    """
    intended = _plain(doc.data)
    for careful in (True, False):
        text = _splice(doc, change, old, careful=careful)
        if text is not None and _reads_as(text, intended):
            return text
    text = doc.dump()
    if _reads_as(text, intended):
        return text
    raise SourceEditError(f"{doc.path}: internal error: the edited document does not read back; file unchanged")


def _reads_as(text: str, intended: Any) -> bool:
    try:
        return bool(_plain(_yaml().load(text)) == intended)
    except YAMLError:
        return False


def _entry_text(doc: _Doc, items: Sequence[Any]) -> list[str] | None:
    """ruamel's text of ``items`` as entries of ``sources:`` (dumped alone, with the file's indentation)."""
    wrapper = CommentedMap()
    wrapper["sources"] = CommentedSeq(items)
    out = io.StringIO()
    doc.yaml.dump(wrapper, out)
    text = out.getvalue()
    try:
        spans = _spans(text, _yaml().load(text))
    except YAMLError:
        return None
    if spans is None or len(spans.starts) != len(items):
        return None
    lines: list[str] = []
    for start, end in zip(spans.starts, spans.ends, strict=True):
        lines += spans.lines[start:end]
    return lines


def _splice(doc: _Doc, change: _Change, old: _Spans | None, *, careful: bool) -> str | None:
    if old is None or not old.starts:
        return None
    lines = old.lines
    newline = "\r\n" if "\r\n" in doc.text else "\n"
    seq = doc.sources()
    if change.kind == "remove":
        start, end = _removal(old, change.index)
        return "".join(lines[:start] + lines[end:])
    if change.kind == "update":
        i = change.index
        old_item = lines[old.starts[i] : old.ends[i]]
        item = _entry_text(doc, [seq[i]])
        if item is None:
            return None
        if careful:
            if change.base is not None:
                item = _revert_artifacts(change.base, item, old_item)
            item = _fix_comments(old_item, item)
        return "".join(lines[: old.starts[i]] + _eol(item, newline) + lines[old.ends[i] :])
    # add: after the last old entry, separated like the entries before it
    count = change.index
    if count != len(old.starts) or len(seq) <= count:
        return None
    at = old.ends[-1]
    blank = count < 2 or any(not line.strip() for line in lines[old.ends[-2] : old.starts[-1]])
    block: list[str] = []
    for k in range(count, len(seq)):
        entry = _entry_text(doc, [seq[k]])
        if entry is None:
            return None
        block += ([newline] if blank else []) + _eol(entry, newline)
    head = lines[:at]
    if head and not head[-1].endswith("\n"):
        head[-1] += newline
    return "".join(head + block + lines[at:])


def _eol(lines: list[str], newline: str) -> list[str]:
    out = [line.rstrip("\r\n") + newline for line in lines]
    return out


def _removal(old: _Spans, index: int) -> tuple[int, int]:
    """Lines of entry ``index`` plus the comment lines directly above it (stopping at a divider
    such as ``# ---- 商务部``), and one of the blank lines around it."""
    lines = old.lines
    start, end = old.starts[index], old.ends[index]
    floor = old.ends[index - 1] if index > 0 else old.floor
    while start > floor and _is_comment(lines[start - 1]) and not _DIVIDER_RE.match(lines[start - 1]):
        start -= 1
    if start > floor and not lines[start - 1].strip():
        while end < len(lines) and not lines[end].strip():
            end += 1
    if all(not line.strip() for line in lines[end:]):
        while start > floor and not lines[start - 1].strip():
            start -= 1
    return start, end


def _revert_artifacts(base: list[str], theirs: list[str], ours: list[str]) -> list[str]:
    """``theirs`` (ruamel's dump of the edited entry) with the places where the file's own text
    (``ours``) differs from ruamel's dump of the unedited entry (``base``) put back — a re-joined
    multi-line string, extra spaces — wherever the edit left those lines alone."""
    mapped: dict[int, int] = {}
    for tag, a1, a2, b1, _b2 in difflib.SequenceMatcher(None, base, theirs, autojunk=False).get_opcodes():
        if tag == "equal":
            mapped.update({a1 + k: b1 + k for k in range(a2 - a1)})
    edits: list[tuple[int, int, list[str]]] = []
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(None, base, ours, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if a2 > a1:
            targets = [mapped.get(k) for k in range(a1, a2)]
            first = targets[0]
            if first is None or targets != list(range(first, first + len(targets))):
                continue
            edits.append((first, first + len(targets), ours[b1:b2]))
        elif 0 < a1 < len(base) and a1 - 1 in mapped and a1 in mapped and mapped[a1] == mapped[a1 - 1] + 1:
            edits.append((mapped[a1], mapped[a1], ours[b1:b2]))
    out = list(theirs)
    for first, last, replacement in sorted(edits, reverse=True):
        out[first:last] = replacement
    return out


def _fix_comments(old: list[str], new: list[str]) -> list[str]:
    """Undo ruamel's comment moves inside one entry.

    ruamel keeps the comment lines that follow a key with that key: a key added at the end of an
    entry would land below the comment that describes the *next* entry (which the splice keeps in
    place anyway), and a removed key takes the comment above the next key with it. The editor never
    writes comments, so comment and blank lines the entry did not have are dropped, and comment
    blocks it lost are put back above the line they preceded.
    """
    budget: dict[str, int] = {}
    for line in old:
        if _is_trivia(line):
            budget[line] = budget.get(line, 0) + 1
    kept: list[str] = []
    for line in new:
        if _is_trivia(line):
            if budget.get(line, 0) <= 0:
                continue
            budget[line] -= 1
        kept.append(line)
    present = {line for line in kept if _is_comment(line)}
    i = 0
    while i < len(old):
        if not _is_comment(old[i]):
            i += 1
            continue
        j = i
        while j < len(old) and _is_comment(old[j]):
            j += 1
        block, anchor = old[i:j], old[j] if j < len(old) else None
        if block[0] not in present and anchor is not None and not _is_trivia(anchor) and anchor in kept:
            at = kept.index(anchor)
            kept[at:at] = block
        i = j
    return kept


# --------------------------------------------------------------------------- values


def _plain(node: Any) -> Any:
    """ruamel's round-trip types as plain dict / list / str / int / float / bool."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if type(node).__name__ == "ScalarBoolean":
        return bool(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _node(value: Any) -> Any:
    """A plain value as a ruamel node: mappings in block style, lists of scalars in flow style
    (``topics: [a, b]``, like the shipped file)."""
    if isinstance(value, Mapping):
        out = CommentedMap()
        for key, item in value.items():
            out[str(key)] = _node(item)
        return out
    if isinstance(value, list | tuple):
        seq = CommentedSeq([_node(v) for v in value])
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            seq.fa.set_flow_style()
        else:
            seq.fa.set_block_style()
        return seq
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _check_value(where: str, value: Any) -> None:
    if value is None or isinstance(value, str | bool | int | float):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise SourceEditError(f"{where}: keys must be text, got {key!r}")
            _check_value(f"{where}.{key}", item)
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_value(where, item)
        return
    raise SourceEditError(f"{where}: a {type(value).__name__} cannot be written to sources.yaml")


def _check_entry_shape(entry: Any) -> None:
    if not isinstance(entry, Mapping):
        raise SourceEditError(f"a source must be a mapping of fields, got {type(entry).__name__}")
    if not entry.get("id"):
        raise SourceEditError("field id: required but missing\n  hint: lower-case letters, digits, '.', '_' or '-'")
    for key, value in entry.items():
        if not isinstance(key, str):
            raise SourceEditError(f"source {entry.get('id')!r}: field {key!r} is not a field name")
        _check_value(f"source {entry.get('id')!r}: field {key}", value)


def _coerce(key: str, value: Any) -> Any:
    """Text from a form for a number or yes/no field becomes that type (``weight: "8"`` → ``8``);
    text that does not convert is left for validation to report."""
    field = SourceSpec.model_fields.get(key)
    if field is None or not isinstance(value, str):
        return value
    annotation = field.annotation
    if annotation is None or annotation not in (float, int, bool, bool | None):
        return value
    try:
        converted = TypeAdapter(annotation).validate_python(value.strip())
    except ValidationError:
        return value
    return converted


def _ordered(entry: dict[str, Any]) -> dict[str, Any]:
    """Fields in the order of the README's table (id, name, kind, url, schedule …), unknown last."""
    rank = {name: n for n, name in enumerate(_FIELD_ORDER)}
    out: dict[str, Any] = {}
    for key in sorted(entry, key=lambda k: rank.get(k, len(rank))):
        value = _coerce(key, entry[key])
        if value is None:
            continue
        if isinstance(value, Mapping) and key in _NESTED_ORDER:
            inner = {name: n for n, name in enumerate(_NESTED_ORDER[key])}
            value = {k: value[k] for k in sorted(value, key=lambda k: inner.get(k, len(inner))) if value[k] is not None}
        out[key] = value
    return out


def _ids(seq: CommentedSeq) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for index, item in enumerate(seq):
        if isinstance(item, CommentedMap) and "id" in item:
            pos = _lc_key(item, "id") or _lc_item(seq, index)
            out[str(item["id"])] = pos[0] + 1 if pos else None
    return out


def _set_path(node: CommentedMap, parts: list[str], value: Any, order: tuple[str, ...] = _FIELD_ORDER) -> None:
    """Set (or, for None, remove) ``parts`` inside ``node``, creating nested mappings as needed."""
    key = parts[0]
    if len(parts) > 1:
        child = node.get(key)
        if child is None and value is None:
            return
        if child is None:
            child = CommentedMap()
            _insert(node, key, child, order)
        if not isinstance(child, CommentedMap):
            raise SourceEditError(f"field {key} is not a mapping, so {'.'.join(parts)} cannot be set")
        _set_path(child, parts[1:], value, _NESTED_ORDER.get(key, ()))
        if value is None and not child:
            del node[key]
        return
    if value is None:
        if key in node:
            del node[key]
        return
    if order is _FIELD_ORDER:
        value = _coerce(key, value)
    _assign(node, key, value, order)


def _assign(node: CommentedMap, key: str, value: Any, order: tuple[str, ...]) -> None:
    if key not in node:
        _insert(node, key, _node(value), order)
        return
    old = node[key]
    if _plain(old) == _plain(value) and type(_plain(old)) is type(_plain(value)):
        return  # unchanged: keep its text (quotes, flow style, comments)
    if isinstance(old, CommentedMap) and isinstance(value, Mapping):
        for stale in [k for k in old if k not in value or value[k] is None]:
            del old[stale]
        inner = _NESTED_ORDER.get(key, ())
        for k, v in value.items():
            if v is not None:
                _assign(old, str(k), v, inner)
        return
    if isinstance(old, CommentedSeq) and isinstance(value, list | tuple):
        old.clear()
        old.extend(_node(v) for v in value)
        return
    node[key] = _node(value)


def _insert(node: CommentedMap, key: str, value: Any, order: tuple[str, ...]) -> None:
    """Add ``key`` after the last key that comes before it in ``order`` (else at the end)."""
    if key not in order:
        node[key] = value
        return
    rank = order.index(key)
    position = 0
    for index, existing in enumerate(node):
        if existing in order and order.index(existing) < rank:
            position = index + 1
    if position >= len(node):
        node[key] = value
    else:
        node.insert(position, key, value)
