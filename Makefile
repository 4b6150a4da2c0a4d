# 创文模拟问卷 — two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test lint deps-check test-sqlite test-postgres chromium serve bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make run: install, migrate the SQLite database in instance/, seed the demo once, serve.
run: install
	$(FLASK) db-upgrade
	$(FLASK) seed-demo --only-if-empty
	$(FLASK) run --host $(HOST) --port $(PORT)

## production-style server (gunicorn)
serve: install
	$(FLASK) db-upgrade
	$(BIN)/gunicorn -w $$(nproc) -b $(HOST):$(PORT) wsgi:app

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

deps-check: install
	$(BIN)/lint-imports

test-sqlite: install chromium
	SURVEY_TEST_DB=sqlite $(BIN)/pytest

# The same database-backed tests again on PostgreSQL (browser tests run once, above).
test-postgres: install
	SURVEY_TEST_DB=postgresql $(BIN)/pytest -m "not browser" tests/app

## make test: lint, dependency contracts, the whole suite on SQLite and on PostgreSQL.
test: lint deps-check test-sqlite test-postgres

bench: install
	$(BIN)/python benchmarks/estimate_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
