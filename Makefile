# The front door. `make run` and `make test` work on a fresh machine with only Python 3.11.
PYTHON ?= python3
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench migrate clean chromium

install: $(STAMP)
	@$(BIN)/python -m config.keys local

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is needed (set PYTHON=...)"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | { grep -v '^WARNING: Location' || true; }
	$(BIN)/python -m pip install --quiet -e '.[dev]' 2>&1 | { grep -v '^WARNING: Location' || true; }
	touch $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

# Web (gunicorn), Celery worker and Celery beat, on SQLite and a file-system broker unless DATABASE_URL and
# REDIS_URL say otherwise.
run: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py ensure_admin
	@echo "AI Service Console: http://127.0.0.1:8000 (API docs at /api/docs). Ctrl-C stops web, worker and beat."
	@echo "Database: $${DATABASE_URL:-SQLite in var/}; broker: $${REDIS_URL:-file system in var/broker}"
	$(BIN)/honcho --procfile Procfile start

test: install chromium
	$(BIN)/pytest

# The browser tests drive Debian's Chromium (never a browser Playwright downloads); the OpenID provider the tests
# start needs Node.js 20.19 or newer. Both are checked here so a missing one is named before the run.
chromium:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get install -y -q chromium; } || \
	  { echo "Install Chromium first: sudo apt-get install -y chromium" >&2; exit 1; }
	@command -v node >/dev/null || { echo "Install Node.js 20.19 or newer (the tests run an OpenID provider)" >&2; exit 1; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/transfer.py

clean:
	rm -rf var/db.sqlite3* var/broker var/static var/celerybeat-schedule* var/test-db-* var/test-broker-*
