# Consortia: the two commands are `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# npm ci empties node_modules first, so the stamp inside it is fresh exactly
# when node_modules matches package-lock.json.
NPM_STAMP := node_modules/.installed
# The web console's vendored ES modules (copied from node_modules, git-ignored).
CONSOLE_VENDOR := src/consortia/console/static/vendor/.installed

.PHONY: run test setup lint typecheck pytest clean console-screenshots

setup: $(STAMP) $(NPM_STAMP) $(CONSOLE_VENDOR)

# System packages first (Debian), then the venv with every pinned Python package.
$(STAMP): pyproject.toml scripts/setup-system.sh
	bash scripts/setup-system.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Node packages (package-lock.json): the solc compiler, ethers, and preact + htm
# for the web console; node and npm come from Debian through scripts/setup-system.sh.
$(NPM_STAMP): package-lock.json $(STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

# Preact and htm for the console, served by the node at /console/vendor/.
$(CONSOLE_VENDOR): $(NPM_STAMP) scripts/vendor-console.sh
	bash scripts/vendor-console.sh

run: setup
	$(BIN)/consortia devnet up --home .devnet

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest -n 2 --dist loadgroup

test: lint typecheck pytest

# Runs the console's browser tests and copies the screenshots docs/console.md
# embeds into docs/img/console/ (committed).
console-screenshots: setup
	bash scripts/console-screenshots.sh

clean:
	rm -rf $(VENV) node_modules .devnet .pytest_cache .mypy_cache .ruff_cache
