# Two commands: `make run` (the product with its demo data on SQLite) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup lint typecheck bench clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Escalate needs Python 3.11 or newer (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/escalate db upgrade
	$(BIN)/escalate demo load
	$(BIN)/escalate serve --host $(HOST) --port $(PORT) --demo-hint

test: $(STAMP)
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src/escalate

bench: $(STAMP)
	$(BIN)/python bench/jobs_throughput.py
	$(BIN)/python bench/api_throughput.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/paging.py
	$(BIN)/python bench/statuspage.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
