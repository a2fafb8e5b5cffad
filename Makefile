# shouhu — run `make` for this help.
SHELL := /bin/bash
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint typecheck imports bench docs clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --python python3.11
	@touch $@

setup: $(VENV)/.synced ## Create .venv with the locked dependencies (needs only python3.11)

demo: setup ## Generate a 10,000-customer book, ingest it and build the customer view (DuckDB + SQLite, ./data)
	$(VENV)/bin/shouhu demo --fresh

test: setup ## Lint, type-check, check layering, run the test suite
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest

lint: setup ## Ruff only
	$(VENV)/bin/ruff check src tests bench

bench: setup ## Benchmarks at 1M customers (slow: minutes); figures go to stdout
	$(PY) bench/bench_synth.py --customers 1000000
	$(PY) bench/bench_ingest.py --customers 1000000
	$(PY) bench/bench_identity.py --book data/bench-book-1000000
	$(PY) bench/bench_refresh.py --book data/bench-book-1000000 --workdir data/bench-refresh-1m
	$(PY) bench/bench_worklist.py --customers 1000000 --tasks 1000000 --agents 5000

docs: setup ## Regenerate docs/data-model.md from the model
	$(VENV)/bin/shouhu model docs --out docs/data-model.md

clean: ## Remove the virtualenvs and ./data
	rm -rf $(VENV) $(TOOLS) data test-output
