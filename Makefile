# The two commands: `make run` and `make test`. Everything else is a step they take.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi

.PHONY: run worker test lint browser setup translations catalog migrate seed clean stress bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

setup: $(VENV)/.runtime translations

## English catalog (Japanese is the source language)
translations: $(VENV)/.runtime
	$(BIN)/pybabel compile --statistics -d translations 2>&1 | tail -n 1

## make catalog: gather every marked text into the English catalog (then translate the empty msgstr)
catalog: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k lazy_gettext -k say -k WorkflowError -k InputError -k DateError -k job:2 -k FieldError:2 --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
	rm translations/messages.pot

migrate: setup
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed --demo

## make run: set up, migrate, load the city's master data and demo accounts, serve on HOST:PORT
run: seed
	$(FLASK) run --host $(HOST) --port $(PORT) --no-debugger --no-reload

## make worker: the RQ worker with its scheduler and the outbox relay (production: set REDIS_URL)
worker: migrate
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} $(FLASK) worker

## make test: ruff, then the whole suite on SQLite and on PostgreSQL
test: $(VENV)/.dev translations browser lint
	TEST_DB=sqlite $(BIN)/pytest
	TEST_DB=postgresql $(BIN)/pytest

## make stress: a bounded load-and-fault run on loopback (not part of `make test`); see scripts/stress.py
stress: setup
	$(BIN)/python scripts/stress.py

## make bench: 10,000 vs 1,000,000 generated requests on PostgreSQL, each served by gunicorn (2 workers),
## every page paired from a separate load process, and the CSV export of everything; prints a table,
## writes benchmarks/results.json, asserts nothing, not part of `make test`; see docs/performance.md
bench: setup
	$(BIN)/python scripts/bench.py

lint: $(VENV)/.dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

## Debian's Chromium for the browser tests (installed when missing and we may use apt-get)
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
		else \
			echo "Chromium is missing: run 'sudo apt-get install -y chromium fonts-noto-cjk'"; \
			[ "$$CI" != "true" ] || exit 1; \
		fi; \
	fi

clean:
	rm -rf $(VENV) instance .pytest_cache
