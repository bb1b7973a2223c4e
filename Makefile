# geo-response: two set-up commands (see README). Both create .venv and install into it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/geo-response demo --out maps/

test: $(VENV)/.installed
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_routing.py
	$(BIN)/python benchmarks/bench_planning.py
	$(BIN)/python benchmarks/bench_pipeline.py
	$(BIN)/python benchmarks/bench_memory.py
	cd benchmarks && ../$(BIN)/python bench_simulation.py

lint: $(VENV)/.installed
	$(BIN)/ruff check geo_response tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
