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
# reports under $(OUT)/. Exit status 1 means the run completed and found failures (they are in
# the matrix and the reports): the job itself succeeded. Anything else (2: usage error,
# 130: interrupted) fails it.
run: install
	$(BIN)/parity backends
	$(BIN)/parity run -j $(JOBS) --artifact-dir $(OUT) --json $(OUT)/report.json \
		--junit $(OUT)/junit.xml; rc=$$?; [ $$rc -le 1 ]

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/harness.py

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache
