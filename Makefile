# SPM workbench task runner. `make` (or `make help`) lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KERNEL := spm
SPEC ?= params/batch.yml
WORKERS ?=

$(STAMP): pyproject.toml
	@echo "Setting up $(VENV) (first run only; takes a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "SPM workbench (.venv)"
	touch $(STAMP)

.PHONY: help setup reports test test-fast lab lint format bench email-preview sample clean

## Show this help
help:
	@awk '/^## /{desc=substr($$0,4); next} /^[a-zA-Z_-]+:/{if(desc){split($$1,t,":"); printf "  \033[36m%-15s\033[0m %s\n", t[1], desc}; desc=""}' $(MAKEFILE_LIST)

## Create .venv, install spmlib (editable, with dev extras) and register its Jupyter kernel
setup: $(STAMP)

## Run the main batch (params/batch.yml) on the bundled sample data into outputs/ (with "Since last week")
reports: $(STAMP)
	$(BIN)/spm batch $(SPEC) $(if $(WORKERS),--workers $(WORKERS),)

## Run the test suite (unit, notebook and end-to-end tests)
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

## Run the fast tests only (no notebooks, no large data)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

## Open JupyterLab on notebooks/ with the workbench kernel
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

## Write the sample dataset to data/sample (6 teams x 8 reps x 38 months to 2026-12-14) and its extract of the week before
sample: $(STAMP)
	$(BIN)/spm sample data/sample
	$(BIN)/spm sample data/sample-previous --as-of 2026-12-07

## Lint with ruff
lint: $(STAMP)
	$(BIN)/ruff check spmlib tests benchmarks notebooks
	$(BIN)/ruff format --check spmlib tests benchmarks notebooks

## Format with ruff
format: $(STAMP)
	$(BIN)/ruff format spmlib tests benchmarks notebooks
	$(BIN)/ruff check --fix spmlib tests benchmarks notebooks

## Run the benchmarks in benchmarks/ (prints ratios against a baseline from the same run)
bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

## Write the .eml files of the last batch run and one HTML preview page
email-preview: $(STAMP)
	$(BIN)/spm email outputs/latest --dry-run

## Remove outputs, generated sample data and caches (keeps .venv)
clean:
	find outputs -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf data/sample data/sample-previous .pytest_cache .ruff_cache
