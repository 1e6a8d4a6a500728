# The two commands: `make run` (the whole stack on this machine) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test lint typecheck schemas sample clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Stamps re-run the install whenever a requirements file changes.
$(VENV)/.runtime: requirements.txt constraints.txt | $(VENV)/bin/python
	$(PIP) -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) -r requirements-dev.txt -c constraints.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) -m scripts.run_stack

test: $(VENV)/.dev
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy shared services scripts

schemas: $(VENV)/.runtime
	$(PY) -m shared.schemas

sample: $(VENV)/.runtime
	$(PY) -m services.ingest.sources.build_sample

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
