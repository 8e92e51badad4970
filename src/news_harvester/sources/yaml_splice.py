"""The new text of ``sources.yaml`` after an edit: everything outside the changed entry stays the old text.

The changed entry's lines are taken from ruamel's dump and spliced into the old text (header comment, other
entries, their comments and blank lines stay byte-for-byte); the splice is checked by re-reading it, and
ruamel's dump of the whole document is the last resort (:func:`render`). The comment lines directly above a
removed entry (up to a ``# ----`` divider) go with it.
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from news_harvester.sources.yaml_document import (
    SourceEditError,
    SourcesDocument,
    lc_item,
    lc_key,
    plain,
    round_trip_yaml,
)

_DIVIDER_RE = re.compile(r"^\s*#\s*[-=~*#]{8,}")


@dataclass
class Change:
    """What an edit did to the document, so that only that entry's lines change in the text."""

    kind: str  # add | update | remove
    index: int  # the entry changed or removed; the first entry added
    ids: list[str]
    base: list[str] | None = None  # update: ruamel's text of the entry before the change


@dataclass
class Spans:
    """Where each entry of ``sources:`` is in a text: ``starts[i]`` is the line of its dash,
    ``ends[i]`` the line after its last content line (comment and blank lines that follow an entry
    are not part of it: they describe the next one)."""

    lines: list[str]
    floor: int  # the line after ``sources:``
    starts: list[int]
    ends: list[int]


def entry_spans(text: str, data: Any) -> Spans | None:
    lines = text.splitlines(keepends=True)
    if not isinstance(data, CommentedMap):
        return None
    seq = data.get("sources")
    key_pos = lc_key(data, "sources")
    if not isinstance(seq, CommentedSeq) or key_pos is None or seq.fa.flow_style():
        return None
    starts: list[int] = []
    for index in range(len(seq)):
        pos = lc_item(seq, index)
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
        next_pos = lc_key(data, following[0])
        if next_pos is None:
            return None
        region_end = next_pos[0]
    ends: list[int] = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else region_end
        while end > start + 1 and _is_trivia(lines[end - 1]):
            end -= 1
        ends.append(end)
    return Spans(lines, key_pos[0] + 1, starts, ends)


def _is_dash(line: str) -> bool:
    stripped = line.strip()
    return stripped == "-" or line.lstrip().startswith(("- ", "-\t"))


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _is_trivia(line: str) -> bool:
    return not line.strip() or _is_comment(line)


def render(doc: SourcesDocument, change: Change, old: Spans | None) -> str:
    """The new file text: the old text with only the changed entry replaced, added or removed.

    Candidates from most to least faithful; the first that reads back as the intended document wins
    (the last one, ruamel's dump of the whole document, always does).
    """
    intended = plain(doc.data)
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
        return bool(plain(round_trip_yaml().load(text)) == intended)
    except YAMLError:
        return False


def entry_text(doc: SourcesDocument, items: Sequence[Any]) -> list[str] | None:
    """ruamel's text of ``items`` as entries of ``sources:`` (dumped alone, with the file's indentation)."""
    wrapper = CommentedMap()
    wrapper["sources"] = CommentedSeq(items)
    out = io.StringIO()
    doc.yaml.dump(wrapper, out)
    text = out.getvalue()
    try:
        spans = entry_spans(text, round_trip_yaml().load(text))
    except YAMLError:
        return None
    if spans is None or len(spans.starts) != len(items):
        return None
    lines: list[str] = []
    for start, end in zip(spans.starts, spans.ends, strict=True):
        lines += spans.lines[start:end]
    return lines


def _splice(doc: SourcesDocument, change: Change, old: Spans | None, *, careful: bool) -> str | None:
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
        item = entry_text(doc, [seq[i]])
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
        entry = entry_text(doc, [seq[k]])
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


def _removal(old: Spans, index: int) -> tuple[int, int]:
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
