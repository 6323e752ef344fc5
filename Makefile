# The few verbs everyone uses. `make run` installs and runs the demo; `make test` is what CI runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test lint typecheck unit bench docs clean

$(BIN)/mamori: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/mamori

install: $(BIN)/mamori

run: install
	$(BIN)/mamori demo

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

test: lint typecheck unit

bench: install
	$(BIN)/python bench/bench_safe_verify.py

docs: install
	$(BIN)/python scripts/codes_doc.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
