# Two set-up commands: `make demo` and `make test`. Both create .venv and install the project.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_output
DEMO_PERSONS ?= 20000
DEMO_END ?= 2025-10-01
DEMO_AS_OF ?= 2025-07-01
DEMO_QUARTER ?= 2025Q3
DEMO_NEXT_AS_OF ?= 2025-10-01
DEMO_NEXT_QUARTER ?= 2025Q4
DEMO_TRACKING ?= sqlite:///$(DEMO_DIR)/mlruns.db
RS := $(BIN)/riskstrat
# Test processes (pytest-xdist): one per core of the 2-core machines the suite is sized for.
TEST_WORKERS ?= 2

.PHONY: demo test lint install clean benchmark

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The quarterly job end to end on a synthetic county: each step is the command a county runs.
# The reference date (validation's today) is the synthetic data's end, so every run gives the same bytes.
demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(RS) synth --persons $(DEMO_PERSONS) --start 2020-01-01 --end $(DEMO_END) --seed 42 \
		--out $(DEMO_DIR)/county
	$(RS) validate $(DEMO_DIR)/county --mode quarantine --rejected-dir $(DEMO_DIR)/rejected \
		--json $(DEMO_DIR)/validation.json --reference-date $(DEMO_END)
	$(RS) features --data $(DEMO_DIR)/county --as-of $(DEMO_AS_OF) --out $(DEMO_DIR)/features.parquet
	$(RS) outcomes --data $(DEMO_DIR)/county --as-of 2024-01-01 --as-of 2024-04-01 \
		--out $(DEMO_DIR)/outcomes.parquet
	$(RS) eligibility --data $(DEMO_DIR)/county --as-of $(DEMO_AS_OF) --out $(DEMO_DIR)/eligibility.parquet
	$(RS) oracle --data $(DEMO_DIR)/county --as-of 2024-10-01 --as-of 2024-07-01 --as-of 2024-04-01 \
		--out $(DEMO_DIR)/oracle_as_of.parquet
	$(RS) train --config configs/model.yaml --data $(DEMO_DIR)/county \
		--truth $(DEMO_DIR)/oracle_as_of.parquet --out $(DEMO_DIR)/models/composite_adverse \
		--tracking-uri $(DEMO_TRACKING)
	$(RS) models promote riskstrat-composite_adverse 1 --tracking-uri $(DEMO_TRACKING)
	MLFLOW_TRACKING_URI=$(DEMO_TRACKING) $(RS) score --as-of $(DEMO_AS_OF) --data $(DEMO_DIR)/county \
		--model champion --out $(DEMO_DIR)/cohorts/$(DEMO_QUARTER) --mode quarantine \
		--reference-date $(DEMO_END)
	MLFLOW_TRACKING_URI=$(DEMO_TRACKING) $(RS) score --as-of $(DEMO_NEXT_AS_OF) --data $(DEMO_DIR)/county \
		--model champion --out $(DEMO_DIR)/cohorts/$(DEMO_NEXT_QUARTER) --mode quarantine \
		--previous $(DEMO_DIR)/cohorts/$(DEMO_QUARTER) --reference-date $(DEMO_END)
	$(RS) cohorts verify $(DEMO_DIR)/cohorts/$(DEMO_NEXT_QUARTER) --data $(DEMO_DIR)/county \
		--model $(DEMO_DIR)/models/composite_adverse
	@echo
	@echo "Demo outputs in $(DEMO_DIR)/:"
	@echo "  county/            synthetic linked tables (Parquet) and truth/ (the path oracle)"
	@echo "  oracle_as_of.parquet  true probabilities given the state on each test quarter's as-of date"
	@echo "  validation.json    per-table validation report (rejected rows in rejected/)"
	@echo "  features.parquet   point-in-time features as of $(DEMO_AS_OF)"
	@echo "  outcomes.parquet   12-month outcome labels with censoring flags"
	@echo "  eligibility.parquet  programme eligibility with reasons"
	@echo "  models/            calibrated model bundle; its evaluation in composite_adverse-evaluation/report.html (MLflow: $(DEMO_TRACKING))"
	@echo "  cohorts/$(DEMO_QUARTER)/  the quarterly cohort: cohort.csv, summary.md, groups.csv (by group, to share), manifest.json"
	@echo "  cohorts/$(DEMO_NEXT_QUARTER)/  the next quarter, holding back people $(DEMO_QUARTER) offered a place (--previous)"

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --nbmake tests notebooks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

benchmark: $(STAMP)
	$(BIN)/python -m pytest -q -m benchmark -s benchmarks

clean:
	rm -rf $(VENV) $(DEMO_DIR) mlruns mlruns.db .pytest_cache
