"""The README documents every setting and every CLI command (a new setting without docs fails)."""

from __future__ import annotations

from pathlib import Path

import click

from news_harvester.cli.main import main
from news_harvester.config import SETTING_NAMES

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_table():
    missing = [n for n in SETTING_NAMES if f"| `{n}` | `NEWS_HARVESTER_{n.upper()}` |" not in README]
    assert missing == []


def test_every_cli_command_is_in_the_readme():
    def commands(group: click.Group, prefix: str) -> list[str]:
        found = []
        for name, cmd in group.commands.items():
            if isinstance(cmd, click.Group):
                found += commands(cmd, f"{prefix}{name} ")
            else:
                found.append(f"{prefix}{name}")
        return found

    missing = [c for c in commands(main, "news-harvester ") if f"`{c}" not in README]
    assert missing == []
