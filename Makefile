# The front door. `make` lists the targets; `make run` and `make test` work on a fresh machine with Python 3.11,
# 3.12 or 3.13 (the first of python3.13, python3.12, python3.11, python3; or PYTHON=...).
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
# Serving needs only the runtime dependencies; tests and linters add the dev extra. Separate stamps, so that
# `make run` after `make test` installs nothing.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP_QUIET := 2>&1 | { grep -v '^WARNING: Location' || true; }
# The port check runs before anything is installed, with whichever Python is at hand.
BOOT_PYTHON = $(firstword $(wildcard $(BIN)/python) $(shell scripts/find-python 2>/dev/null) python3)

.PHONY: help install install-dev run check-port migrate test lint format bench check-pins clean chromium

help: ## list the targets (this)
	@awk -F':.*## ' '/^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  Options: PORT=8000 HOST=127.0.0.1 (run; also read from .env), PYTHON=python3.x (install)," \
	  "TEST_PROCESSES=3 (test)"

# Without a supported interpreter, make stops with one line saying which versions work.
$(BIN)/python:
	$(eval FOUND := $(shell PYTHON='$(PYTHON)' scripts/find-python 2>&1))
	$(if $(filter 0,$(.SHELLSTATUS)),,$(error $(FOUND)))
	@echo "Creating $(VENV) with $(FOUND) ($$($(FOUND) --version 2>&1))"
	@$(FOUND) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip $(PIP_QUIET)
	$(BIN)/python -m pip install --quiet -e . $(PIP_QUIET)
	touch $@

# The dev extra includes everything serving needs, so it satisfies the runtime stamp too.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip $(PIP_QUIET)
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(PIP_QUIET)
	touch $(RUN_STAMP) $@

install: $(RUN_STAMP) ## create .venv with what serving needs (runtime dependencies only)

install-dev: $(DEV_STAMP) ## add the test and lint tools to .venv

check-port:
	@$(BOOT_PYTHON) scripts/serve.py check

# A local console's keys are made once and kept in var/local.env (see README, Running in production).
migrate: $(RUN_STAMP) ## apply database migrations
	@$(BIN)/python -m config.keys local
	$(BIN)/python manage.py migrate --noinput

# Web (gunicorn), Celery worker and Celery beat, on SQLite and a file-system broker unless DATABASE_URL and
# REDIS_URL say otherwise. The port (and that no other `make run` serves from this checkout) is checked first.
run: check-port $(RUN_STAMP) ## serve the console on http://127.0.0.1:$PORT (8000): web, worker, scheduler
	@exec $(BIN)/python scripts/serve.py start

# The suite runs in TEST_PROCESSES processes (pytest-xdist); many of its slow tests wait on processes they start
# (Celery workers, servers, `make run`, a browser), so three finish sooner than two even on two cores (README,
# Development). Each has its own database, broker and Redis database (config/suite_processes.py). 0: one process.
TEST_PROCESSES := 3

test: $(DEV_STAMP) chromium ## run the whole test suite (SQLite unless DATABASE_URL is set)
	$(BIN)/pytest -n $(TEST_PROCESSES) --durations=20

# The browser tests drive Debian's Chromium (never a browser Playwright downloads); the OpenID provider the tests
# start needs Node.js 20.19 or newer. Both are checked here so a missing one is named before the run.
chromium:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q chromium; } || \
	  { echo "Install Chromium first: sudo apt-get install -y chromium" >&2; exit 1; }
	@command -v node >/dev/null || { echo "Install Node.js 20.19 or newer (the tests run an OpenID provider)" >&2; exit 1; }

lint: $(DEV_STAMP) ## ruff, ruff format --check, mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(DEV_STAMP) ## format the code and apply ruff's safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(DEV_STAMP) ## benchmarks on PostgreSQL, written to docs/benchmarks.md
	@$(BIN)/python -m config.keys local
	$(BIN)/python bench/run.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/transfer.py
	$(BIN)/python bench/agents.py

# Asks the package index (no install) whether every pin, and what it pulls in, has wheels for 3.12 and 3.13.
check-pins: $(RUN_STAMP) ## check that every pinned dependency has wheels for Python 3.12 and 3.13
	@for version in 3.12 3.13; do \
	  $(BIN)/python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	    print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > $(VENV)/pins.txt && \
	  $(BIN)/python -m pip install --dry-run --quiet --ignore-installed --only-binary=:all: \
	    --python-version $$version --target $(VENV)/pins-$$version -r $(VENV)/pins.txt $(PIP_QUIET) && \
	  echo "Python $$version: every pin has a wheel" || exit 1; \
	done

clean: ## delete local data under var/ (database, broker, static files, test leftovers)
	rm -rf var/db.sqlite3* var/broker var/static var/celerybeat-schedule* var/test-db-* var/test-broker-* \
	  var/test-cache-* var/test-metrics-* var/run
