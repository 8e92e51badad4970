"""Read ``sources.yaml`` for an edit: a ruamel round-trip document that keeps comments, quotes and key order.

:class:`SourcesDocument` is one read of the file (its bytes, its text and the document, dumped with the file's
own indentation). Also here: :class:`SourceEditError`, which every part of an edit raises, :func:`plain`
(round-trip values as plain ones) and the line and column of a key or an item.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from news_harvester.errors import ConfigError


class SourceEditError(ConfigError):
    """An edit of sources.yaml was refused; the message names the field and the problem.

    The file is unchanged when this is raised.
    """

    code = "config.sources_edit"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="config.sources_edit")


def round_trip_yaml() -> YAML:
    """ruamel's round-trip loader and dumper as edits use it: quotes kept, lines never re-wrapped."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap lines
    return yaml


class SourcesDocument:
    """One read of sources.yaml: its bytes, text and ruamel round-trip document."""

    def __init__(self, path: Path, raw: bytes, text: str, data: CommentedMap, yaml: YAML) -> None:
        self.path = path
        self.raw = raw
        self.text = text
        self.data = data
        self.yaml = yaml

    @classmethod
    def read(cls, path: Path) -> SourcesDocument:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise SourceEditError(f"{path}: sources file not found") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceEditError(f"{path}: not UTF-8 text ({exc})") from None
        yaml = round_trip_yaml()
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
        value = plain(self.data.get("defaults") or {})
        return value if isinstance(value, dict) else {}

    def dump(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        return out.getvalue()


def _set_indent(yaml: YAML, data: CommentedMap, text: str) -> None:
    """Dump with the file's own indentation (``sources:`` / ``  - id:`` / ``    name:`` by default)."""
    mapping, sequence, offset = 2, 4, 2
    seq = data.get("sources")
    key_pos = lc_key(data, "sources")
    item_pos = lc_item(seq, 0) if isinstance(seq, CommentedSeq) and seq else None
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


def lc_key(node: CommentedMap, key: str) -> tuple[int, int] | None:
    try:
        line, col = node.lc.key(key)
    except (KeyError, TypeError, AttributeError):
        return None
    return int(line), int(col)


def lc_item(node: CommentedSeq, index: int) -> tuple[int, int] | None:
    try:
        line, col = node.lc.item(index)
    except (KeyError, TypeError, AttributeError, IndexError):
        return None
    return int(line), int(col)


def plain(node: Any) -> Any:
    """ruamel's round-trip types as plain dict / list / str / int / float / bool."""
    if isinstance(node, Mapping):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [plain(v) for v in node]
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
