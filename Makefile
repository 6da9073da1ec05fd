# `make run` and `make test` do all set-up on a fresh machine: they create .venv and install
# paritykit with every backend extra through constraints.txt (torch pinned to 2.13.0).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt
JOBS ?= 2
OUT ?= parity-out

.PHONY: install run test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e '.[all,dev]'
	touch $(STAMP)

# The main job: the built-in suite on every available backend, the parity matrix on the console,
# reports under $(OUT)/. Known backend gaps are listed with their errors in the expectations
# files (src/paritykit/builtin_expectations/), so the job fails only on an unexpected result:
# a new failure, or an expected failure that now passes (XPASS).
run: install
	$(BIN)/parity backends
	$(BIN)/parity run -j $(JOBS) --artifact-dir $(OUT) --json $(OUT)/report.json \
		--junit $(OUT)/junit.xml --html $(OUT)/report.html

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/harness.py

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache
