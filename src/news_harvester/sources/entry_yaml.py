"""One source as an admin types it in the web form's YAML textarea: read it, know the line of each key, and say
what is wrong with the text in Chinese (YAML syntax errors with line and column).

Kept apart from :mod:`news_harvester.sources.messages_zh` (the field messages, which a form per field will reuse
without any YAML) and from the web layer (which only decides what to show where). The file loader keeps its own
English YAML errors (``config._explain_yaml``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from news_harvester.sources.messages_zh import FieldMessage

__all__ = ["EntryText", "key_lines", "read_entry", "yaml_error_message"]


@dataclass(frozen=True, slots=True)
class EntryText:
    """What the textarea held: the entry (None when it could not be read), the 1-based line of each
    (dotted) key, and the problems that kept it from being read."""

    entry: dict[str, Any] | None
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[FieldMessage] = field(default_factory=list)


def read_entry(text: str) -> EntryText:
    """Read ``text`` as the plain values of one source (the safe loader, as the form always did) and the
    lines of its keys; an empty text, a YAML error or a non-mapping comes back as a problem in Chinese."""
    if not text.strip():
        return EntryText(None, problems=[FieldMessage("", EMPTY)])
    try:
        # pure: the messages below are worded from the Python parser's problems (libyaml words them otherwise)
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        return EntryText(None, problems=[yaml_error_message(exc)])
    if data is None:
        return EntryText(None, problems=[FieldMessage("", EMPTY)])
    if not isinstance(data, dict):
        what = "列表" if isinstance(data, list) else "单个值"
        return EntryText(
            None,
            problems=[
                FieldMessage(
                    "", f"应为一个信息源的各项字段（每行 “字段: 值”，如 id、name、kind、url），而不是{what}", 1, 1
                )
            ],
        )
    return EntryText(data, key_lines(text))


EMPTY = "请填写信息源配置：每行 “字段: 值”，至少需要 id（标识）、name（名称）、kind（类型）和 url（网址）"
"""The message for an empty textarea (or one holding only comments)."""


def key_lines(text: str) -> dict[str, int]:
    """1-based line of every key of a YAML mapping and of its nested mappings (``selectors.item``); empty
    when the text does not read as a mapping, so messages are shown without a line then."""
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError:
        return {}
    out: dict[str, int] = {}

    def walk(node: Any, prefix: str) -> None:
        if not isinstance(node, CommentedMap):
            return
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            try:
                out[path] = int(node.lc.key(key)[0]) + 1
            except (KeyError, TypeError, AttributeError):
                continue
            walk(value, path)

    walk(data, "")
    return out


_YAML_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), text)
    for pattern, text in (
        (r"mapping values are not allowed", "这里不能出现 “:”，请检查缩进；值中含有 “: ” 时请给整个值加引号"),
        (r"found character '\\t'", "不能用 Tab 缩进，请改用空格"),
        (r"cannot start any token", "值不能以这个符号开头，请给整个值加引号"),
        (r"expected ',' or '\]'", "“[” 没有对应的 “]”"),
        (r"expected ',' or '\}'", "“{{” 没有对应的 “}}”"),
        (r"unexpected end of stream|found unexpected end|while scanning a quoted", "引号没有闭合"),
        (r'found duplicate key "(?P<key>[^"]*)"', "字段 “{key}” 写了两次，请只保留一个"),
        (r"expected <block end>|expected <block mapping start>", "缩进不一致，同一层的字段应对齐"),
        (r"could not find expected ':'", "缺少 “:”，每一行应写成 “字段: 值”"),
        (r"undefined alias", "引用了未定义的锚点（*…），请删除或给值加引号"),
    )
)
"""ruamel's problem texts (the English ones the loader reports) and what they mean for the admin."""


def yaml_error_message(exc: YAMLError) -> FieldMessage:
    """A YAML syntax error in Chinese with its line and column (of the opening bracket or quote when one
    is left open, which is where the fix goes, else of the problem)."""
    problem = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
    context = str(getattr(exc, "context", None) or "")
    mark = getattr(exc, "problem_mark", None)
    opened = getattr(exc, "context_mark", None)
    if opened is not None and re.search(r"while (?:parsing a flow|scanning a quoted)", context):
        mark = opened
    what = "格式有误，请检查缩进和引号"
    for pattern, text in _YAML_PROBLEMS:
        match = pattern.search(f"{context} {problem}")
        if match is not None:
            what = text.format(**match.groupdict())
            break
    if mark is None:
        return FieldMessage("", f"YAML 格式错误：{what}")
    line, column = int(mark.line) + 1, int(mark.column) + 1
    return FieldMessage("", f"YAML 格式错误（第 {line} 行第 {column} 列）：{what}", line, column)
