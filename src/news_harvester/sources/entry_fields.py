"""Build and change one source entry of ``sources.yaml``.

Values are checked before anything is read, text from a form becomes the field's type, fields are written in
the order of the README's table, plain values become ruamel nodes, and a (dotted) field is set or removed
inside an entry while the other keys keep their text and comments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from news_harvester.source_spec import DatasourceSpec, PaginationSpec, SelectorSpec, SourceSpec
from news_harvester.sources.yaml_document import SourceEditError, plain

_FIELD_ORDER: tuple[str, ...] = tuple(SourceSpec.model_fields)
_NESTED_ORDER: dict[str, tuple[str, ...]] = {
    "selectors": tuple(SelectorSpec.model_fields),
    "pagination": tuple(PaginationSpec.model_fields),
    "datasource": tuple(DatasourceSpec.model_fields),
    "fields": ("items", "title", "url", "date", "summary", "id", "author"),
}


def yaml_node(value: Any) -> Any:
    """A plain value as a ruamel node: mappings in block style, lists of scalars in flow style
    (``topics: [a, b]``, like the shipped file)."""
    if isinstance(value, Mapping):
        out = CommentedMap()
        for key, item in value.items():
            out[str(key)] = yaml_node(item)
        return out
    if isinstance(value, list | tuple):
        seq = CommentedSeq([yaml_node(v) for v in value])
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            seq.fa.set_flow_style()
        else:
            seq.fa.set_block_style()
        return seq
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def check_value(where: str, value: Any) -> None:
    if value is None or isinstance(value, str | bool | int | float):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise SourceEditError(f"{where}: keys must be text, got {key!r}")
            check_value(f"{where}.{key}", item)
        return
    if isinstance(value, list | tuple):
        for item in value:
            check_value(where, item)
        return
    raise SourceEditError(f"{where}: a {type(value).__name__} cannot be written to sources.yaml")


def check_entry_shape(entry: Any) -> None:
    if not isinstance(entry, Mapping):
        raise SourceEditError(f"a source must be a mapping of fields, got {type(entry).__name__}")
    if not entry.get("id"):
        raise SourceEditError("field id: required but missing\n  hint: lower-case letters, digits, '.', '_' or '-'")
    for key, value in entry.items():
        if not isinstance(key, str):
            raise SourceEditError(f"source {entry.get('id')!r}: field {key!r} is not a field name")
        check_value(f"source {entry.get('id')!r}: field {key}", value)


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


def ordered(entry: dict[str, Any]) -> dict[str, Any]:
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


def set_path(node: CommentedMap, parts: list[str], value: Any, order: tuple[str, ...] = _FIELD_ORDER) -> None:
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
        set_path(child, parts[1:], value, _NESTED_ORDER.get(key, ()))
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
        _insert(node, key, yaml_node(value), order)
        return
    old = node[key]
    if plain(old) == plain(value) and type(plain(old)) is type(plain(value)):
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
        old.extend(yaml_node(v) for v in value)
        return
    node[key] = yaml_node(value)


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
