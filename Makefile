# Tangram — set-up and everyday commands. `make run` and `make test` do all set-up.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
CONSTRAINTS := constraints.txt
NODESTAMP := node_modules/.installed
#: Written last by scripts/build_assets.py: the web UI's front-end files are in place.
ASSETSTAMP := runtime/web/static/vendor/MANIFEST.json
#: Test processes (pytest-xdist): one per core; each has its own databases.
TEST_WORKERS ?= auto

.PHONY: run test assets lint format lock migrate worker clean ci messages

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found); set PYTHON=..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel

# Reinstall only when the project metadata or the pinned versions change.
$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(PIP) install -q -c $(CONSTRAINTS) -e .
	@touch $@

$(DEVSTAMP): $(STAMP) pyproject.toml $(CONSTRAINTS)
	$(PIP) install -q -c $(CONSTRAINTS) -e '.[dev]'
	@touch $@

# Front-end packages of the web UI and Node tools for the tests (bpmn-moddle checks exported
# BPMN), pinned by package-lock.json.
$(NODESTAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "Node.js 20+ and npm are required (the web UI's front-end packages come from the npm registry); install them, e.g. apt-get install nodejs npm" >&2; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

# Copy the distributable files into runtime/web/static/vendor/ (nothing comes from a CDN).
$(ASSETSTAMP): $(NODESTAMP) scripts/build_assets.py | $(BIN)/python
	$(BIN)/python scripts/build_assets.py

assets: $(ASSETSTAMP)

run: $(STAMP) $(ASSETSTAMP)
	@mkdir -p var
	$(BIN)/tangram migrate
	$(BIN)/tangram init
	@# The Customer Center with demo data, once per database (a failure does not stop the server).
	-$(BIN)/tangram template install-default
	$(BIN)/tangram run

test: $(DEVSTAMP) $(ASSETSTAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	TANGRAM_REQUIRE_NODE=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=20

lint: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEVSTAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/tangram migrate

# Re-extract the web UI's messages into runtime/web/locale and list what is untranslated.
messages: $(STAMP)
	$(BIN)/python scripts/messages.py

worker: $(STAMP)
	$(BIN)/tangram worker

# Re-pin every dependency to what is installed now (run after changing pyproject.toml).
lock: $(DEVSTAMP)
	$(PIP) freeze --exclude-editable | grep -v '^-e ' | grep -v '^tangram' > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache node_modules runtime/web/static/vendor
