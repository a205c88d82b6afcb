# Podium: `make run` serves the demo on SQLite, `make test` runs the whole suite. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest runs one worker per core, each test file on one worker (its module fixtures are built once)
PYTEST_WORKERS ?= -n auto --dist loadfile

.PHONY: run test test-fast bench install install-test lint translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## run: set up, migrate the SQLite database podium.db, load the demo if empty, serve on http://127.0.0.1:8000
run: install
	$(BIN)/podium db upgrade
	$(BIN)/podium demo
	$(BIN)/podium serve --host $(HOST) --port $(PORT)

## test: set up with the test extras and run every test (unit, integration on SQLite and PostgreSQL, browser)
test: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q $(PYTEST_WORKERS)

## test-fast: everything but the browser and slow tests
test-fast: install-test
	$(BIN)/python -m pytest -q $(PYTEST_WORKERS) -m "not browser and not slow"

## bench: run every benchmark under bench/ and print key=value lines
bench: install-test
	$(BIN)/python -m bench

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy

## translations: extract messages and update each package's Latvian catalogue
translations: install-test
	$(BIN)/python -m competition.i18n_tools update

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache
