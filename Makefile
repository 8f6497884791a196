# The commands of docs/spec/CONTRACT.md §1. Needs Python 3.11 and make; everything else is installed here.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON    ?= $(shell command -v python3.11 || command -v python3)
STATE_DIR ?= .local
VENV      := .venv
UV_VERSION := 0.13.8
UV        := $(STATE_DIR)/tools/bin/uv
PY        := $(VENV)/bin/python
SUBJECTS  ?= 2000
export STATE_DIR
# Our own package is imported from the repository root (DAGs, dbt helpers, tests).
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export DO_NOT_TRACK := 1

.PHONY: help install lock lint run test test-fast system-packages report airflow psql warehouse-url credentials stop bench sample-data sample-resubmission clean

help:
	@echo "make run | test | test-fast | lint | report USCC=... | airflow | psql | warehouse-url | credentials ROLE=credit_analyst | stop | bench | sample-data SUBJECTS=N | sample-resubmission | lock | clean"

$(UV):
	@$(PYTHON) -m venv $(STATE_DIR)/tools >/dev/null
	@$(STATE_DIR)/tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Reinstalls only when the lock changes (the stamp is newer than requirements.txt otherwise).
$(VENV)/.installed: requirements.txt | $(UV)
	@test -x $(PY) || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	@$(UV) pip sync --quiet --python $(PY) requirements.txt
	@touch $@

install: $(VENV)/.installed

lock: | $(UV)
	$(UV) pip compile --quiet --python-version 3.11 requirements.in -o requirements.txt

run: install
	@$(PY) -m include.pipeline run

# ruff (format and lint, Airflow's rules among them; ruff.toml), mypy on include/ (mypy.ini),
# sqlfluff on the dbt SQL (.sqlfluff). CI runs it before the tests.
lint: install
	@$(VENV)/bin/ruff format --check --quiet .
	@$(VENV)/bin/ruff check --quiet .
	@$(VENV)/bin/mypy
	@$(VENV)/bin/sqlfluff lint --processes 2 --disable-progress-bar dbt_project/models dbt_project/macros dbt_project/tests

# The browser tests need Debian's chromium (README "System packages"): stop here, naming it,
# rather than fail or skip them later.
system-packages:
	@command -v chromium >/dev/null || { echo "make test needs Debian's chromium package for the browser tests: sudo apt-get install chromium fonts-noto-cjk" >&2; exit 2; }

# The whole suite: what CI runs (.ci/run).
test: install system-packages
	@STATE_DIR=$(STATE_DIR)/test $(PY) -m pytest $(PYTEST_ARGS)

# The inner loop: everything but the tests that start Airflow (markers in pytest.ini).
test-fast: install system-packages
	@STATE_DIR=$(STATE_DIR)/test $(PY) -m pytest -m "not e2e" $(PYTEST_ARGS)

# 公共信用信息报告 of one subject (USCC=...) or of every code in a file (USCC_FILE=list.txt), from
# the latest publication; prints each report's path.
report: install
	@$(PY) -m include.reports.credit_report $(USCC) $(if $(USCC_FILE),--file $(USCC_FILE))

airflow: install
	@$(PY) -m include.pipeline airflow

psql: install
	@$(PY) -m include.pipeline psql

warehouse-url: install
	@$(PY) -m include.pipeline warehouse-url

# A reader role's password and connection URLs on the embedded warehouse (ROLE=credit_analyst,
# credit_financing or credit_loader); generated once per STATE_DIR, kept in STATE_DIR/secrets.
credentials: install
	@$(PY) -m include.embedded_pg credentials $(ROLE)

stop: install
	@$(PY) -m include.embedded_pg stop

bench: install
	@$(PY) -m include.pipeline bench

sample-data: install
	@$(PY) -m include.sample_data --subjects $(SUBJECTS)

# What the sample's departments send back after reading their correction workbooks: every second
# row with a wrong check character, corrected (docs/departments.md); the next `make run` loads it.
sample-resubmission: install
	@$(PY) -m include.sample_data --resubmit

clean: stop
	rm -rf $(STATE_DIR)
