# shouhu — run `make` for this help.
SHELL := /bin/bash
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-fast lint typecheck imports bench docs clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)

# A PyPI mirror (README "Behind a proxy or a PyPI mirror"). `uv sync --frozen` downloads from the
# files.pythonhosted.org URLs written in uv.lock whatever the index settings, so with a mirror the same
# locked versions, checked against the lock's hashes, are installed from the mirror instead.
MIRROR := $(or $(UV_DEFAULT_INDEX),$(UV_INDEX_URL),$(PIP_INDEX_URL))

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
ifeq ($(MIRROR),)
	$(UV) sync --frozen --all-extras --python python3.11
else
	$(UV) export --frozen --all-extras --no-emit-project --format requirements.txt --quiet \
		--output-file $(TOOLS)/requirements.lock.txt
	$(UV) venv --allow-existing --python python3.11 $(VENV)
	$(UV) pip sync --python $(PY) --default-index $(MIRROR) $(TOOLS)/requirements.lock.txt
	$(UV) pip install --python $(PY) --default-index $(MIRROR) --no-deps -e .
endif
	@touch $@

setup: $(VENV)/.synced ## Create .venv with the locked dependencies (needs only python3.11)

demo: setup ## Generate a 10,000-customer book, ingest it and build the customer view (DuckDB + SQLite, ./data)
	$(VENV)/bin/shouhu demo --fresh

test: setup ## Lint, type-check, check layering, run the test suite
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest

test-fast: setup ## Embedded-only tests (no PostgreSQL, Spark, browser or slow ones), stop at the first failure
	$(VENV)/bin/ruff check src tests bench
	SHOUHU_TEST_POSTGRES_URL= $(VENV)/bin/pytest -x -q -m "not postgres and not spark and not browser and not slow"

lint: setup ## Ruff only
	$(VENV)/bin/ruff check src tests bench

bench: setup ## Benchmarks at 1M customers (slow: minutes); figures go to stdout
	$(PY) bench/bench_synth.py --customers 1000000
	$(PY) bench/bench_ingest.py --customers 1000000
	$(PY) bench/bench_identity.py --book data/bench-book-1000000
	$(PY) bench/bench_refresh.py --book data/bench-book-1000000 --workdir data/bench-refresh-1m
	$(PY) bench/bench_worklist.py --customers 1000000 --tasks 1000000 --agents 5000
	$(PY) bench/bench_journeys.py --customers 1000000 --due 20000
	$(PY) bench/bench_partners.py --seconds 30   # partner API; PostgreSQL too when SHOUHU_TEST_POSTGRES_URL is set

docs: setup ## Regenerate docs/data-model.md from the model
	$(VENV)/bin/shouhu model docs --out docs/data-model.md

clean: ## Remove the virtualenvs and ./data
	rm -rf $(VENV) $(TOOLS) data test-output
