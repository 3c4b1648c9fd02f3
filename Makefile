# Two set-up commands: `make demo` and `make test`. Both create .venv and install the project.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_output
DEMO_PERSONS ?= 20000

.PHONY: demo test lint install clean benchmark

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m riskstrat.demo --out $(DEMO_DIR) --persons $(DEMO_PERSONS)

test: $(STAMP)
	$(BIN)/ruff check riskstrat tests benchmarks
	$(BIN)/ruff format --check riskstrat tests benchmarks
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check riskstrat tests benchmarks
	$(BIN)/ruff format --check riskstrat tests benchmarks

benchmark: $(STAMP)
	$(BIN)/python -m pytest -q -m benchmark -s benchmarks

clean:
	rm -rf $(VENV) $(DEMO_DIR) mlruns mlruns.db .pytest_cache
