# One set of commands for README, CI and developers.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck bench clean

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

lint: install              ## ruff (lint + format check) and mypy --strict
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src
	$(VENV)/bin/mypy

typecheck: install
	$(VENV)/bin/mypy

bench: install             ## harvest benchmark against a local server (see bench/README.md)
	$(PY) bench/harvest.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
