"""One sources.yaml entry as the fields of the admin's form, and back: values in, values out.

The form shows what most sources need as fields (name, url, kind, schedule with presets, weight, topic hints,
enabled, attribution, language; list selectors one per line in an advanced section) and everything else
(``fields``, ``datasource``, ``pagination``, ``headers``, ``html_path`` …) as a small YAML text beside them, so
that no field of the file is lost by a round trip through the form. Validation is not done here: the entry
goes through the same checks as a hand-written one (``messages_zh.validate_entry``, ``sources.admin``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML

from news_harvester.sources.entry_yaml import read_entry
from news_harvester.sources.messages_zh import FieldMessage

SCHEDULE_PRESETS: tuple[tuple[str, str], ...] = (
    ("30m", "每 30 分钟"),
    ("1h", "每小时"),
    ("2h", "每 2 小时"),
    ("4h", "每 4 小时"),
    ("0 9 * * *", "每天 9:00"),
    ("0 9 * * 1-5", "工作日每天 9:00"),
)
CUSTOM = "custom"
SELECTOR_KEYS = ("item", "link", "title", "date", "body")
FORM_KEYS = ("id", "name", "url", "kind", "schedule", "weight", "topics", "enabled", "attribution", "language")
"""Entry keys the form shows as fields; every other key lives in the "other fields" YAML."""
EXTRA_FIELD = "extra"


@dataclass(slots=True)
class FormValues:
    """What the form's inputs show."""

    id: str = ""
    name: str = ""
    url: str = ""
    kind: str = "html"
    schedule_preset: str = "1h"
    schedule_custom: str = ""
    weight: str = "5"
    topics: list[str] = field(default_factory=list)
    enabled: bool = True
    attribution: str = "page"
    language: str = "zh"
    selectors: dict[str, str] = field(default_factory=dict)
    """Selector key -> the fallbacks, one per line."""
    extra: str = ""


def form_values(entry: Mapping[str, Any]) -> FormValues:
    schedule = str(entry.get("schedule", "1h"))
    presets = {value for value, _ in SCHEDULE_PRESETS}
    selectors = entry.get("selectors") if isinstance(entry.get("selectors"), Mapping) else {}
    assert isinstance(selectors, Mapping)
    rest = {k: v for k, v in entry.items() if k not in FORM_KEYS and k != "selectors"}
    unknown_selectors = {k: v for k, v in selectors.items() if k not in SELECTOR_KEYS}
    if unknown_selectors:  # kept where the admin can see and fix them
        rest["selectors"] = unknown_selectors
    return FormValues(
        id=str(entry.get("id", "")),
        name=str(entry.get("name", "")),
        url=str(entry.get("url", "")),
        kind=str(entry.get("kind", "html")),
        schedule_preset=schedule if schedule in presets else CUSTOM,
        schedule_custom="" if schedule in presets else schedule,
        weight=_number_text(entry.get("weight", 5)),
        topics=[str(t) for t in entry.get("topics") or []] if isinstance(entry.get("topics"), list) else [],
        enabled=entry.get("enabled", True) is not False,
        attribution=str(entry.get("attribution", "page")),
        language=str(entry.get("language", "zh")),
        selectors={k: "\n".join(_as_list(selectors[k])) for k in SELECTOR_KEYS if k in selectors},
        extra=yaml_text(rest) if rest else "",
    )


@dataclass(slots=True)
class FormEntry:
    entry: dict[str, Any]
    problems: list[FieldMessage]


def entry_from_form(form: Mapping[str, Any]) -> FormEntry:
    """The entry the submitted form describes; problems only for what cannot be read at all (the "other
    fields" YAML, a weight that is no number). Empty inputs leave their key out (the file's default applies)."""
    problems: list[FieldMessage] = []
    entry: dict[str, Any] = {}
    for key in ("id", "name", "url", "kind"):
        value = str(form.get(key) or "").strip()
        if value:
            entry[key] = value
    preset = str(form.get("schedule_preset") or "").strip()
    schedule = str(form.get("schedule_custom") or "").strip() if preset == CUSTOM else preset
    if schedule:
        entry["schedule"] = schedule
    weight = str(form.get("weight") or "").strip()
    if weight:
        try:
            number = float(weight)
        except ValueError:
            problems.append(FieldMessage("weight", f"“{weight}”不是数字，请填写 0 到 100 之间的数"))
        else:
            entry["weight"] = int(number) if number.is_integer() else number
    topics = form.get("topics") or []
    topics = [topics] if isinstance(topics, str) else list(topics)
    if topics:
        entry["topics"] = [str(t) for t in topics if str(t).strip()]
    if not form.get("enabled"):
        entry["enabled"] = False
    for key, default in (("attribution", "page"), ("language", "zh")):
        value = str(form.get(key) or "").strip()
        if value and value != default:
            entry[key] = value
    selectors = {}
    for key in SELECTOR_KEYS:
        lines = [line.strip() for line in str(form.get(f"selectors_{key}") or "").splitlines() if line.strip()]
        if lines:
            selectors[key] = lines[0] if len(lines) == 1 else lines
    extra_text = str(form.get(EXTRA_FIELD) or "")
    extra: dict[str, Any] = {}
    if extra_text.strip():
        read = read_entry(extra_text)
        if read.entry is None:
            problems += [FieldMessage(EXTRA_FIELD, m.text, m.line, m.column) for m in read.problems]
        else:
            extra = dict(read.entry)
    clash = sorted(k for k in extra if k in FORM_KEYS)
    if clash:
        problems.append(FieldMessage(EXTRA_FIELD, f"{'、'.join(clash)} 请在上方对应的输入框中填写，不要写在这里"))
    if isinstance(extra.get("selectors"), Mapping):
        selectors = {**extra.pop("selectors"), **selectors}
    if selectors:
        entry["selectors"] = selectors
    entry |= {k: v for k, v in extra.items() if k not in FORM_KEYS}
    return FormEntry(entry, problems)


def form_field_of(message_field: str) -> str:
    """The form input a validation message belongs beside: ``selectors.item`` → ``selectors_item``; a key the
    form has no input for → the "other fields" YAML."""
    root = message_field.split(".")[0]
    if root == "selectors" and message_field.count(".") == 1 and message_field.split(".")[1] in SELECTOR_KEYS:
        return "selectors_" + message_field.split(".")[1]
    if root == "schedule":
        return "schedule"
    if root in FORM_KEYS:
        return root
    return EXTRA_FIELD if message_field else ""


def yaml_text(value: Any) -> str:
    import io

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    out = io.StringIO()
    yaml.dump(value, out)
    return out.getvalue()


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
