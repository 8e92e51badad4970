# One set of commands for README, CI and developers.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint typecheck bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)          ## create .venv and install the package with dev tools

run: install               ## start the daemon on embedded defaults (SQLite in ./data, config/sources.yaml)
	$(VENV)/bin/news-harvester run

test: install              ## the whole test suite (PostgreSQL tests run when NEWS_HARVESTER_TEST_PG is set)
	$(PY) -m pytest

# Day-to-day tier: everything but the browser, kill-loop (reliability), cluster and soak suites and the tests
# marked slow. CI (`.ci/run`) still runs `make test`, i.e. everything.
FAST_SKIP := --ignore=tests/reliability --ignore=tests/cluster -m "not slow and not browser" -n auto
test-fast: install         ## the fast tier for day-to-day work (see FAST_SKIP)
	$(PY) -m pytest $(FAST_SKIP)

lint: install              ## ruff (lint + format check), mypy --strict and the import contracts (lint-imports)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy

screenshots: install       ## docs/screenshots/*.png: the queue, a story, the assembly screen and the sources page at 1400 px
	$(PY) tools/screenshots.py

bench: install             ## harvest benchmark against a local server (see bench/README.md)
	$(PY) bench/harvest.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
