"""Edit ``sources.yaml`` from the CLI and the web admin; the YAML file stays the only truth.

Every edit is a locked read-modify-write of the file:

1. take an advisory lock (``fcntl.flock`` on ``<name>.lock`` beside the file), so CLI and web edits
   never interleave;
2. read the file and load it with ruamel.yaml's round-trip loader;
3. apply the change to that document and validate the **whole** result with the same rules as
   ``config.load_sources`` (``source_spec.parse_sources``, duplicate ids included) — an invalid result
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

This module holds the edits and their locked, validated, atomic write with backups; the parts live beside it:
``yaml_document`` (reading the file as a round-trip document), ``entry_fields`` (building and changing one
entry) and ``yaml_splice`` (the new text, step 4).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from news_harvester.config import is_packaged_default
from news_harvester.errors import ConfigError
from news_harvester.source_spec import SourcesConfig, SourceSpec, parse_sources
from news_harvester.sources.entry_fields import check_entry_shape, check_value, ordered, set_path, yaml_node
from news_harvester.sources.yaml_document import SourceEditError, SourcesDocument, lc_item, lc_key, plain
from news_harvester.sources.yaml_splice import Change, entry_spans, entry_text, render

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

_REQUIRED = ("id", "name", "kind", "url")


# --------------------------------------------------------------------------- public API


def add_source(path: Path, entry: Mapping[str, Any]) -> SourceSpec:
    """Append ``entry`` at the end of the ``sources:`` list; return the validated source."""
    return add_sources(path, [entry])[0]


def add_sources(path: Path, entries: Sequence[Mapping[str, Any]]) -> list[SourceSpec]:
    """Append several entries in one write (one validation, one backup); all or nothing."""
    if not entries:
        return []
    for entry in entries:
        check_entry_shape(entry)
    prepared = [ordered(dict(entry)) for entry in entries]

    def change(doc: SourcesDocument) -> Change:
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
            seq.append(yaml_node(entry))
        return Change("add", len(seq) - len(prepared), [str(e["id"]) for e in prepared])

    config = _edit(path, change)
    return [_spec(config, str(e["id"])) for e in prepared]


def check_source(path: Path, entry: Mapping[str, Any]) -> SourceSpec:
    """Validate ``entry`` exactly as :func:`add_source` would (defaults, duplicate ids, the whole
    file), without writing anything; e.g. to test a source before saving it."""
    check_entry_shape(entry)
    doc = SourcesDocument.read(path)
    seq = doc.sources(create=True)
    source_id = str(entry.get("id"))
    if source_id in _ids(seq):
        raise SourceEditError(
            f"{path}: field id = {source_id!r}: a source with this id already exists\n"
            f"  hint: every source needs its own id, e.g. {source_id + '-2'!r}"
        )
    seq.append(yaml_node(ordered(dict(entry))))
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
    doc = SourcesDocument.read(path)
    _apply_changes(doc, source_id, changes)
    return _spec(_validate(doc), source_id)


def _check_changes(path: Path, source_id: str, changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise SourceEditError(f"{path}: source {source_id!r}: field {key!r} is not a field name")
        check_value(f"{path}: source {source_id!r}: field {key}", value)


def _apply_changes(doc: SourcesDocument, source_id: str, changes: Mapping[str, Any]) -> Change:
    index, item = doc.find(source_id)
    what = Change("update", index, [source_id], entry_text(doc, [item]))
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
        set_path(item, key.split("."), value)
    return what


def set_enabled(path: Path, source_id: str, enabled: bool) -> SourceSpec:
    """Enable or disable a source. ``enabled: false`` is written after ``schedule``/``url``; enabling
    drops that line again (enabled is the default) unless it carries a comment, which then stays
    with ``enabled: true``."""

    def change(doc: SourcesDocument) -> Change:
        index, item = doc.find(source_id)
        what = Change("update", index, [source_id], entry_text(doc, [item]))
        by_default = bool(doc.defaults().get("enabled", True))
        if enabled == by_default and "enabled" in item and not _has_comment(item, "enabled"):
            set_path(item, ["enabled"], None)  # back to the default: drop the line (disable + enable = no change)
        elif "enabled" in item or enabled != by_default:
            set_path(item, ["enabled"], enabled)
        return what

    return _spec(_edit(path, change), source_id)


def _has_comment(node: CommentedMap, key: str) -> bool:
    return bool(getattr(node, "ca", None) is not None and node.ca.items.get(key))


def remove_source(path: Path, source_id: str) -> None:
    """Remove a source and the comment lines directly above it (up to a ``# ----`` divider)."""

    def change(doc: SourcesDocument) -> Change:
        index, _item = doc.find(source_id)
        del doc.sources()[index]
        return Change("remove", index, [source_id])

    _edit(path, change)


def source_entry(path: Path, source_id: str) -> dict[str, Any]:
    """The source's entry as written in the file (plain values, ``defaults:`` not merged)."""
    _index, item = SourcesDocument.read(path).find(source_id)
    entry = plain(item)
    assert isinstance(entry, dict)
    return entry


def file_defaults(path: Path) -> dict[str, Any]:
    """The file's top-level ``defaults:`` mapping (empty when there is none)."""
    return SourcesDocument.read(path).defaults()


def backups(path: Path) -> list[Path]:
    """Backups of ``path`` written by edits, oldest first."""
    folder = path.parent / BACKUP_DIR
    if not folder.is_dir():
        return []
    pattern = _backup_re(path)
    return sorted(p for p in folder.iterdir() if pattern.match(p.name))


def _ids(seq: CommentedSeq) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for index, item in enumerate(seq):
        if isinstance(item, CommentedMap) and "id" in item:
            pos = lc_key(item, "id") or lc_item(seq, index)
            out[str(item["id"])] = pos[0] + 1 if pos else None
    return out


# --------------------------------------------------------------------------- the edit loop


def _edit(path: Path, change: Callable[[SourcesDocument], Change]) -> SourcesConfig:
    if is_packaged_default(path):
        raise SourceEditError(
            f"{path}: this is the packaged default sources.yaml, which is not edited in place\n"
            "  hint: run `news-harvester init` to write an editable copy (config/sources.yaml) and start from there"
        )
    if path.is_symlink():
        path = path.resolve()  # replace the file the link points to, not the link
    with _locked(path):
        for _attempt in range(_ATTEMPTS):
            doc = SourcesDocument.read(path)
            old_spans = entry_spans(doc.text, doc.data)
            what = change(doc)
            config = _validate(doc)
            text = render(doc, what, old_spans)
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


def _validate(doc: SourcesDocument) -> SourcesConfig:
    try:
        return parse_sources(doc.data, doc.path)
    except ConfigError as exc:
        raise SourceEditError(f"not saved, the file is unchanged: {exc}") from None


def _read_config(path: Path) -> SourcesConfig:
    return _validate(SourcesDocument.read(path))


def _spec(config: SourcesConfig, source_id: str) -> SourceSpec:
    spec = config.get(source_id)
    if spec is None:
        raise SourceEditError(f"{config.path}: no source with id {source_id!r} (field id)")
    return spec


# --------------------------------------------------------------------------- the locked, atomic write


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
