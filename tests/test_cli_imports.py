"""Simple commands answer quickly because they import only what they use (issue 19 part 3). Measured as what a
command imports, not as a timed test: ``sources list`` and ``users list`` read the database and sources.yaml, so
they need neither the story logic (numpy, the models), nor the network client, nor the event loop."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from news_harvester.cli.main import COMMAND_MODULES, main

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
from news_harvester.cli.main import main
try:
    main(sys.argv[1:], standalone_mode=True)
except SystemExit:
    pass
print("\\nMODULES " + " ".join(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after(args: list[str], tmp_path: Path) -> set[str]:
    env = {**os.environ, "NEWS_HARVESTER_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    assert done.returncode == 0, done.stderr
    return set(line.split()[1:])


def test_every_lazy_command_is_built_by_the_module_named_for_it():
    for name, module_name in COMMAND_MODULES.items():
        module = importlib.import_module(f"news_harvester.cli.{module_name}")
        assert name in [c.name for c in module.COMMANDS], (name, module_name)
    modules = {importlib.import_module(f"news_harvester.cli.{m}") for m in COMMAND_MODULES.values()}
    built = {c.name for module in modules for c in module.COMMANDS}
    assert built == set(COMMAND_MODULES), "a command module builds a command the root group does not know"
    assert set(main.list_commands(None)) >= set(COMMAND_MODULES) | {"run", "harvest", "db"}  # type: ignore[arg-type]


@pytest.mark.parametrize("args", [["sources", "list"], ["users", "list"]])
def test_simple_commands_import_no_story_logic_network_or_event_loop(args, tmp_path):
    modules = _modules_after(args, tmp_path)
    assert "sqlalchemy" in modules  # it did read the database
    heavy = {"numpy", "httpx", "feedparser", "lxml", "news_harvester.stories", "news_harvester.harvest.schedule"}
    assert not heavy & modules, heavy & modules
    others = {f"news_harvester.cli.{m}" for m in ("issues", "figures", "stories", "articles", "ops")}
    assert not others & modules, "a command imported another command's module"


@pytest.mark.parametrize("args", [["issue", "list"], ["stories", "list"], ["articles", "list"]])
def test_listing_commands_open_the_store_without_numpy_or_docx(args, tmp_path):
    """The whole repository, but not the review app's queue index (numpy) or the DOCX writer."""
    modules = _modules_after(args, tmp_path)
    assert "news_harvester.store.repository" in modules
    heavy = {"numpy", "docx", "news_harvester.store.queue_index", "news_harvester.editorial.export_docx"}
    assert not heavy & modules, heavy & modules
