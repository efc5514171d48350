# Skyledger — two commands do everything on a fresh machine with Python 3.11+:
#   make demo   creates .venv, installs, migrates, starts a simulated AWS organisation, collects it,
#               runs the checks and serves the dashboard on http://127.0.0.1:8000 (prints the logins)
#   make test   installs (idempotently) and runs the whole suite
#   make test-shifted-clock   the same suite with the clock a year ahead (needs libfaketime)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR := .demo
PORT ?= 8000
export SKYLEDGER_DEV ?= 1
export DEBUG ?= 1

.PHONY: install lock demo demo-stop dev worker beat test test-shifted-clock lint typecheck check clean

# Installs exactly the locked set (requirements/dev.txt: every package pinned, with hashes), then
# the project itself without touching its dependencies. `make lock` refreshes the lock files.
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --all-build-deps \
	--no-emit-index-url --no-emit-find-links

$(STAMP): pyproject.toml requirements/dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@touch $(STAMP)

install: $(STAMP)

# Re-resolve after a change to pyproject.toml; pins already in the lock stay unless they must move.
# `make lock UPGRADE=1` moves every package to its newest allowed release.
lock:
	@test -x $(VENV)/bin/pip-compile || $(MAKE) install
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) --extra dev -o requirements/dev.txt pyproject.toml
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) -c requirements/dev.txt -o requirements/prod.txt pyproject.toml

demo: $(STAMP)
	@mkdir -p $(DEMO_DIR)
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py demo --port $(PORT)

# Stops a running demo and everything it started (web server, worker, collection, simulated AWS).
demo-stop:
	@if test -x $(PY); then $(PY) manage.py demo --stop; else echo "No demo was running."; fi

# With Redis: a worker and beat next to the web server (the production shape without Docker).
dev: $(STAMP)
	$(PY) manage.py migrate --no-input -v 0
	@set -a; test -f $(DEMO_DIR)/aws.env && . $(DEMO_DIR)/aws.env; set +a; \
	trap 'kill 0' EXIT; \
	$(VENV)/bin/celery -A config worker --pool=threads -c 4 -l info & \
	$(VENV)/bin/celery -A config beat -l info & \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The suite with the wall clock a year ahead, in pytest and in everything it starts (moto server,
# celery worker, web servers, Chromium): no test may depend on today's date. The monotonic clock
# stays real: faked, Python's timed waits on locks hang. With it real, libfaketime <= 0.9.10 (Debian
# 12's) needs FAKETIME_FORCE_MONOTONIC_FIX=0 or it cuts monotonic condition waits short (Chromium
# stalls, the GIL spins), and tests/shifted_clock/sitecustomize.py for time.sleep. The date check
# makes sure the shift reaches Python.
SHIFT ?= +365d
FAKETIME := FAKETIME_FORCE_MONOTONIC_FIX=0 faketime --exclude-monotonic -f '$(SHIFT)'
test-shifted-clock: $(STAMP)
	@command -v faketime >/dev/null || \
	  { echo "make test-shifted-clock needs faketime (libfaketime): apt-get install -y faketime" >&2; exit 1; }
	@today='import datetime as d; print(d.datetime.now(d.UTC).date())'; \
	  real=$$($(PY) -c "$$today"); shifted=$$($(FAKETIME) $(PY) -c "$$today"); \
	  echo "today is $$real; the suite runs on $$shifted ($(SHIFT))"; \
	  test "$$shifted" != "$$real" || { echo "faketime did not move Python's clock" >&2; exit 1; }
	PYTHONPATH=$(CURDIR)/tests/shifted_clock$${PYTHONPATH:+:$$PYTHONPATH} \
	  $(FAKETIME) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy with django-stubs; what it checks and how strictly is in pyproject.toml ([tool.mypy]).
typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: $(STAMP)
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

clean: demo-stop
	rm -rf $(VENV) $(DEMO_DIR) staticfiles skyledger.sqlite3*
