# The two commands: `make run` (the whole stack on this machine) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test lint typecheck schemas sample clean assets browser postgres bench wrk

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Stamps re-run the install whenever a requirements file changes.
$(VENV)/.runtime: requirements.txt constraints.txt | $(VENV)/bin/python
	$(PIP) -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) -r requirements-dev.txt -c constraints.txt
	touch $@

# The directory's front end: GOV.UK Frontend, Swagger UI, Sass and axe-core from the npm registry
# (exact versions in package-lock.json), compiled and copied into the git-ignored assets folder.
FRONTEND := services/directory/frontend
NODE_MODULES := $(FRONTEND)/node_modules
ASSETS := services/directory/assets

$(NODE_MODULES)/.installed: $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	npm ci --prefix $(FRONTEND) --ignore-scripts --no-audit --no-fund
	touch $@

$(ASSETS)/.built: $(NODE_MODULES)/.installed $(wildcard $(FRONTEND)/src/*)
	rm -rf $(ASSETS) && mkdir -p $(ASSETS)/swagger-ui
	$(NODE_MODULES)/.bin/sass --no-source-map --style=compressed --load-path=$(NODE_MODULES) \
	  $(FRONTEND)/src/directory.scss $(ASSETS)/directory.css
	cp $(FRONTEND)/src/*.mjs $(NODE_MODULES)/govuk-frontend/dist/govuk/govuk-frontend.min.js $(ASSETS)/
	cp $(NODE_MODULES)/swagger-ui-dist/swagger-ui-bundle.js $(NODE_MODULES)/swagger-ui-dist/swagger-ui.css \
	  $(ASSETS)/swagger-ui/
	touch $@

assets: $(ASSETS)/.built

# The browser tests drive Debian's Chromium and its chromedriver; CI runs as root on a fresh machine.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver; }

# The stores' contract tests start a throwaway cluster from Debian's PostgreSQL server (as the
# `postgres` user the package creates when they run as root, since PostgreSQL refuses root).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; }

# The HTTP benchmarks drive the services with Debian's `wrk`, installed the same way.
wrk:
	@command -v wrk >/dev/null || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk; }

# Every benchmark the README quotes, from a fresh clone; each prints its figures. The search
# and match benchmarks build their 131,000-listing index once under var/bench and reuse it.
bench: $(VENV)/.runtime wrk
	$(PY) -m bench.search
	$(PY) -m bench.search_queries
	$(PY) -m bench.match
	$(PY) -m bench.match_quality
	$(PY) -m bench.consortia
	$(PY) -m bench.limits
	$(PY) -m bench.buy_social
	$(PY) -m bench.ingest --n 131000
	$(PY) -m bench.load_registers

run: $(VENV)/.runtime assets
	$(PY) -m scripts.run_stack

test: $(VENV)/.dev assets browser postgres
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
	rm -rf var .pytest_cache .mypy_cache .ruff_cache $(ASSETS)
