"""Chinese messages for admins who add or edit a source in the web UI: which field is wrong, why, and what to write.

The CLI and the start-up loader keep their English messages (people script against them); the web form is
read by admins in Simplified Chinese, so it turns the *structured* problems into Chinese instead of showing
those English strings: pydantic's ``ValidationError.errors()`` (``loc``/``type``/``input``/``ctx``, mapped by
error type, not per example), the product's own ``ValueError`` checks in ``source_spec`` (matched by their
message shape) and the refusals of ``sources.admin`` (duplicate id, id change …); YAML syntax errors of
the textarea are :mod:`news_harvester.sources.entry_yaml`'s. Everything comes back as :class:`FieldMessage`
objects, or as ``{field: [messages]}`` (:func:`field_messages`, :func:`by_field`), so the YAML textarea of
today and a form per field (issue 22) can put each message next to the field it concerns.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from news_harvester.source_spec import DatasourceSpec, PaginationSpec, SelectorSpec, SourceSpec

__all__ = [
    "FIELD_LABELS",
    "FieldMessage",
    "by_field",
    "edit_error_messages",
    "field_label",
    "field_messages",
    "validate_entry",
    "validation_messages",
]

FIELD_LABELS: dict[str, str] = {
    "id": "标识",
    "name": "名称",
    "kind": "类型",
    "url": "网址",
    "schedule": "抓取计划",
    "enabled": "启用",
    "language": "语言",
    "timezone": "时区",
    "weight": "权重",
    "topics": "主题",
    "selectors": "选择器",
    "fields": "字段映射",
    "encoding": "编码",
    "headers": "请求头",
    "full_text": "抓取全文",
    "attribution": "来源署名",
    "respect_robots": "遵守 robots.txt",
    "max_items": "每次最多条目数",
    "pagination": "分页",
    "datasource": "数据源",
    "html_path": "HTML 片段路径",
    "selectors.item": "列表条目",
    "selectors.link": "链接",
    "selectors.title": "标题",
    "selectors.date": "日期",
    "selectors.body": "正文",
    "pagination.pages": "页数",
    "pagination.page_url": "分页网址",
    "pagination.start": "起始页号",
    "datasource.from_page": "页面元素",
    "datasource.attribute": "属性",
    "datasource.pattern": "正则表达式",
    "datasource.url": "数据网址",
    "fields.items": "条目列表",
    "fields.title": "标题",
    "fields.url": "网址",
    "fields.date": "日期",
    "fields.summary": "摘要",
    "fields.id": "编号",
    "fields.author": "作者",
}
"""Chinese name of every field of a source (dotted for nested ones); a test checks it covers the models."""

_MODELS: dict[str, type[BaseModel]] = {
    "": SourceSpec,
    "selectors": SelectorSpec,
    "pagination": PaginationSpec,
    "datasource": DatasourceSpec,
}
_CHOICES = {"fields": ("items", "title", "url", "date", "summary", "id", "author")}

_HINTS: dict[str, str] = {
    "id": "只能用小写字母、数字和 . _ -，以字母或数字开头，最长 64 个字符，例如 mofcom-policy",
    "name": "请填写信息源的中文名称，例如 商务部政策发布",
    "kind": "请填写 feed、html 或 json 之一",
    "url": "请填写以 http:// 或 https:// 开头的完整网址，例如 https://www.mofcom.gov.cn/zcfb/index.html",
    "schedule": "请填写时间间隔（如 30m、2h、1d）或 5 段的 cron 表达式（如 0 */2 * * *）",
    "timezone": "请填写 IANA 时区名，例如 Asia/Shanghai",
    "encoding": "请填写编码名称，例如 gb18030、gbk、utf-8",
    "weight": "请填写 0 到 100 之间的数字，官方来源（如商务部）的权重高于转载",
    "max_items": "请填写 1 到 1000 之间的整数",
    "attribution": "请填写 page（优先用文章自己的来源）或 source（总是用信息源名称）",
    "fields": "请把 items、title、url（可选 date、summary、id、author）对应到 JSON 中的路径",
    "selectors": "请在下一行缩进写 item、link、title、date、body，每项一个 CSS 选择器",
    "pagination": "例如 pages: 3，表示 index.html、index_1.html、index_2.html",
    "pagination.pages": "请填写 1 到 50 之间的整数",
    "datasource": "仅用于 json 类型，例如 from_page、pattern 和 url: ds_{id}.json",
    "html_path": "填写 JSON 中 HTML 片段的路径，例如 data.html",
}
"""What to write, by field (used where the problem itself does not already say it)."""

_TYPES = {
    "string": "文字",
    "int": "整数",
    "float": "数字",
    "bool": "“true”或“false”",
    "list": "列表（如 [a, b]，或每行一个 “- 值”）",
    "dict": "键值对（在下一行缩进书写各子项）",
    "model": "键值对（在下一行缩进书写各子项）",
    "model_attributes": "键值对（在下一行缩进书写各子项）",
}
_BOUNDS = {
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "不能大于 {le}",
}


@dataclass(frozen=True, slots=True)
class FieldMessage:
    """One problem in Chinese: ``field`` is the dotted path (``kind``, ``selectors.item``), empty when the
    problem concerns the source or the file as a whole; ``text`` says what is wrong and what to do."""

    field: str
    text: str
    line: int | None = None
    column: int | None = None

    @property
    def label(self) -> str:
        return field_label(self.field) if self.field else ""

    def __str__(self) -> str:
        return f"{self.label}：{self.text}" if self.field else self.text


def field_label(field: str) -> str:
    """``类型（kind）``, ``选择器·列表条目（selectors.item）``; an unknown key is shown as written."""
    parts = field.split(".")
    names = []
    for n in range(len(parts)):
        names.append(FIELD_LABELS.get(".".join(parts[: n + 1]), parts[n]))
    zh = "·".join(names)
    return f"{zh}（{field}）" if zh != field else field


def by_field(messages: Iterable[FieldMessage]) -> dict[str, list[str]]:
    """``{field: [full messages]}`` in first-seen order (``""``: the source as a whole)."""
    out: dict[str, list[str]] = {}
    for message in messages:
        out.setdefault(message.field, []).append(str(message))
    return out


def _shown(value: Any) -> str:
    """A value as the admin wrote it, in Chinese quotes, cut short when long."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = text if len(text) <= 60 else text[:57] + "…"
    return f"“{text}”"


def _hint(field: str) -> str:
    return _HINTS.get(field) or _HINTS.get(field.split(".")[0], "")


def _with_hint(problem: str, field: str) -> str:
    hint = _hint(field)
    return f"{problem}，{hint}" if hint else problem


# --------------------------------------------------------------------------- the product's own checks

_VALUE_ERRORS: tuple[tuple[str | None, re.Pattern[str], str], ...] = tuple(
    (field, re.compile(pattern), text)
    for field, pattern, text in (
        (None, r"^must be an absolute http:// or https:// URL", "{value} 不是完整的网址，" + _HINTS["url"]),
        (
            None,
            r"^interval shorter than 1m",
            "{value} 间隔太短：最短 1 分钟，过于频繁会给对方网站造成负担，例如 30m、2h",
        ),
        (
            None,
            r"^interval shorter than min_schedule_interval \((?P<s>\d+) s\)",
            "{value} 间隔太短：本系统规定最短 {s} 秒",
        ),
        (
            None,
            r"^not an interval or a cron expression",
            "{value} 既不是时间间隔也不是 cron 表达式，" + _HINTS["schedule"],
        ),
        (
            None,
            r"^bad cron expression",
            "cron 表达式 {value} 中有超出范围的值，"
            "请检查分钟（0–59）、小时（0–23）、日（1–31）、月（1–12）、星期（0–7）",
        ),
        (None, r"^unknown time zone", "{value} 不是已知的时区，" + _HINTS["timezone"]),
        (None, r"^unknown encoding", "{value} 不是已知的编码，" + _HINTS["encoding"]),
        (None, r"^must contain \{n\}", "{value} 中缺少 {{n}}（页码的位置），例如 index_{{n}}.html"),
        (None, r"^must contain \{id\}", "{value} 中缺少 {{id}}（数据源编号的位置），例如 ds_{{id}}.json"),
        (
            None,
            r"^not a regular expression: .*?(?:at position (?P<pos>\d+))?$",
            "{value} 不是有效的正则表达式{where}，请检查括号是否成对、特殊字符是否转义",
        ),
        (None, r"^with several groups", "正则表达式有多个分组时，请用 (?P<id>...) 标明哪一组是编号"),
        (
            None,
            r"^give from_page",
            "请至少填写 from_page（CSS 选择器）或 pattern（正则表达式）之一，用来在页面中找到数据源编号",
        ),
        (None, r"^pagination applies to kind: html", "分页只适用于类型为 html 的列表页，请删除分页或把类型改为 html"),
        (
            None,
            r"^datasource applies to kind: json",
            "数据源只适用于类型为 json 的信息源，请删除数据源或把类型改为 json",
        ),
        (
            "fields",
            r"^a json source needs 'fields' with (?P<missing>.+) \(and items\)",
            "类型为 json 的信息源需要在字段映射中填写 {missing}（以及 items），即 JSON 中相应内容的路径",
        ),
        ("html_path", r"^'html_path' applies to html", "只适用于类型为 html 的信息源，请删除此项或把类型改为 html"),
        (
            "fields.{key}",
            r"^unknown key in 'fields': (?P<key>[^;]+); known: (?P<known>.+)",
            "“{key}” 不是可用的字段映射，可用的有：{known}",
        ),
    )
)
"""The ``ValueError`` messages of ``source_spec``'s validators (and the web form's cron check), by shape. A
``field`` given here names the field a whole-source check concerns; ``{key}`` is filled from the match."""

_EDIT_ERRORS: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (field, re.compile(pattern, re.S), text)
    for field, pattern, text in (
        (
            "id",
            r"field id = '(?P<id>[^']*)'(?::| is) a (?:source with this id already exists|duplicate)",
            "“{id}” 已被另一个信息源使用，每个信息源的标识都必须不同，请换一个，例如 “{id}-2”",
        ),
        (
            "id",
            r"field id cannot be changed",
            "标识不能修改（系统按标识记录信息源的抓取状态）；如需新标识，请新增一个信息源，再删除这一个",
        ),
        ("{field}", r"field (?P<field>[\w.]+) is required and cannot be removed", "必须填写，不能删除"),
        ("id", r"field id: required but missing", "必须填写。" + _HINTS["id"]),
        ("", r"no source with id '(?P<id>[^']*)'", "找不到信息源 “{id}”，它可能已被删除；请返回信息源列表刷新后再试"),
        ("{field}", r"field (?P<field>[\w.]+): keys must be text", "其中的键必须是文字，请给键加上引号"),
        (
            "{field}",
            r"field (?P<field>[\w.]+): a (?P<type>\w+) cannot be written",
            "这个值（{type}）不能写入 sources.yaml，请加引号写成文字",
        ),
        ("", r"field '?(?P<field>.*?)'? is not a field name", "“{field}” 不是有效的字段名"),
        (
            "",
            r"packaged default sources\.yaml",
            "当前使用的是程序自带的默认 sources.yaml，不能在网页上修改；"
            "请先运行 news-harvester init 生成可编辑的副本（config/sources.yaml），并让守护进程使用它",
        ),
        ("", r"another edit holds|kept changing", "另一项修改正在写入 sources.yaml，请稍后再试"),
        ("", r"sources file not found", "找不到 sources.yaml 文件，请检查守护进程的配置"),
        ("", r"cannot create the lock file", "无法在 sources.yaml 所在目录创建锁文件，请检查目录权限"),
        (
            "",
            r"not UTF-8 text|not valid YAML, fix the file first|expected a (?:mapping with a )?'sources:' list",
            "sources.yaml 文件本身有错误，请先在服务器上修正文件",
        ),
    )
)
"""The refusals of ``sources.admin`` (:class:`SourceEditError` messages) that concern what an admin typed."""
_OTHER_SOURCE = re.compile(r"source '(?P<id>[^']*)' is invalid")


def validation_messages(
    errors: Iterable[Mapping[str, Any]],
    lines: Mapping[str, int] | None = None,
    inherited: Collection[str] = (),
) -> list[FieldMessage]:
    """Chinese messages for pydantic's ``ValidationError.errors()`` of a source (or any of its parts).

    ``lines`` maps a (dotted) field to its line in what the admin typed; ``inherited`` names the fields that
    came from the file's ``defaults:`` rather than from the admin, so the message says where to fix them."""
    lines = lines or {}
    out = []
    for error in errors:
        field, text = _explain(error)
        if field.split(".")[0] in inherited and field.split(".")[0] not in lines:
            text += "（此值来自 sources.yaml 的 defaults:，可在此处填写该字段覆盖它）"
        out.append(FieldMessage(field, text, _line(field, lines)))
    return out


def field_messages(errors: Iterable[Mapping[str, Any]], lines: Mapping[str, int] | None = None) -> dict[str, list[str]]:
    """``{field: [Chinese messages]}`` straight from ``ValidationError.errors()``: what a form with one input
    per field (issue 22) puts beside each input (``""``: the source as a whole)."""
    return by_field(validation_messages(errors, lines))


def _line(field: str, lines: Mapping[str, int]) -> int | None:
    parts = field.split(".")
    for n in range(len(parts), 0, -1):
        line = lines.get(".".join(parts[:n]))
        if line is not None:
            return line
    return None


def _explain(error: Mapping[str, Any]) -> tuple[str, str]:
    """``(field, text)`` for one pydantic error, by its type; unknown types still get a Chinese sentence."""
    loc = [str(p) for p in error.get("loc", ())]
    field = ".".join(loc)
    kind = str(error.get("type", ""))
    value = error.get("input")
    ctx = error.get("ctx") or {}
    base = kind.removesuffix("_type").removesuffix("_parsing").removesuffix("_from_float")
    if kind == "missing":
        return field, _with_hint("必须填写，目前缺少这一项", field)
    if kind == "invalid_key":
        return field, f"字段名 {_shown(value)} 必须是文字，请给它加上引号或改成可用的字段名"
    if kind == "extra_forbidden":
        return field, _unknown_field(loc)
    if kind in ("literal_error", "enum"):
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        name = FIELD_LABELS.get(field, "值")
        return field, f"{_shown(value)} 不是可用的{name}，请填写 {_either(choices)}"
    if kind == "value_error" or kind == "assertion_error":
        return _value_error(field, value, str(ctx.get("error", error.get("msg", ""))))
    if kind in _BOUNDS:
        bound = _BOUNDS[kind].format(**{k: _number(v) for k, v in ctx.items()})
        return field, _with_hint(f"{_shown(value)} 超出范围：{bound}", field)
    if kind == "int_from_float":
        return field, _with_hint(f"{_shown(value)} 不是整数", field)
    if base in _TYPES and kind != base:
        return field, _with_hint(f"{_shown(value)} 不是{_TYPES[base]}", field)
    if kind == "string_too_short":
        if int(ctx.get("min_length", 1)) <= 1:
            return field, _with_hint("不能为空", field)
        return field, f"太短：至少 {ctx['min_length']} 个字符"
    if kind == "string_too_long":
        return field, f"太长：最多 {ctx.get('max_length')} 个字符"
    if kind == "string_pattern_mismatch":
        return field, _with_hint(f"{_shown(value)} 的格式不对", field)
    if kind.startswith("url_") or kind == "url_parsing":
        return field, f"{_shown(value)} 不是有效的网址，" + _HINTS["url"]
    if kind in ("too_short", "too_long"):
        return field, f"项数不对（应至少 {ctx.get('min_length', 0)} 项、至多 {ctx.get('max_length', '不限')} 项）"
    return field, _with_hint(f"{_shown(value)} 无效", field)


def _either(choices: Sequence[str]) -> str:
    if len(choices) <= 1:
        return "".join(choices)
    return "、".join(choices[:-1]) + " 或 " + choices[-1] + " 之一"


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _unknown_field(loc: Sequence[str]) -> str:
    parent = ".".join(loc[:-1])
    name = loc[-1]
    known = _CHOICES.get(parent) or tuple((_MODELS.get(parent) or SourceSpec).model_fields)
    close = difflib.get_close_matches(name, known, n=1)
    guess = f"，是不是想写 “{close[0]}”（{FIELD_LABELS.get(_join(parent, close[0]), close[0])}）？" if close else "。"
    return f"不是可用的字段{guess}可用的字段有：{'、'.join(known)}"


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _value_error(field: str, value: Any, message: str) -> tuple[str, str]:
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    for target, pattern, template in _VALUE_ERRORS:
        match = pattern.search(message)
        if match is None:
            continue
        # the checks list names as "a, b"; Chinese lists them as "a、b"
        groups = {k: v.replace(", ", "、") for k, v in match.groupdict().items() if v is not None}
        where = f"（第 {int(groups['pos']) + 1} 个字符附近）" if "pos" in groups else ""
        shown = _shown(value) if isinstance(value, str | int | float) else ""
        text = template.format(value=shown, where=where, **groups).replace("  ", " ").strip()
        return (target.format(**groups) if target else field), text
    return field, _with_hint(f"{_shown(value)} 无效" if value not in (None, {}) else "填写有误", field)


def edit_error_messages(message: str) -> list[FieldMessage]:
    """Chinese messages for a refusal of ``sources.admin`` (``str(SourceEditError)``); a refusal this module
    does not know keeps its technical text after a Chinese sentence, so nothing is hidden from the admin."""
    detail = message.removeprefix("not saved, the file is unchanged: ")
    for target, pattern, template in _EDIT_ERRORS:
        match = pattern.search(detail)
        if match is not None:
            groups = match.groupdict()
            return [FieldMessage(target.format(**groups), template.format(**groups))]
    other = _OTHER_SOURCE.search(detail)
    if other is not None:
        return [
            FieldMessage(
                "",
                f"sources.yaml 中另一个信息源 “{other['id']}” 有错误（不是本表单中的这个），"
                f"请先在服务器上修正文件后再保存。详细信息：{detail}",
            )
        ]
    return [FieldMessage("", f"未能完成，sources.yaml 没有改动。详细信息：{detail}")]


def validate_entry(
    entry: Mapping[str, Any], defaults: Mapping[str, Any] | None = None, lines: Mapping[str, int] | None = None
) -> list[FieldMessage]:
    """Validate one entry as the loader does (the file's ``defaults:`` merged under it) and return its
    problems in Chinese, empty when it is valid; the duplicate-id and whole-file checks stay in
    ``sources.admin`` (see :func:`edit_error_messages`)."""
    defaults = dict(defaults or {})
    try:
        SourceSpec.model_validate({**defaults, **dict(entry)})
    except ValidationError as exc:
        inherited = [k for k in defaults if k not in entry]
        return validation_messages(exc.errors(), lines, inherited)
    return []
