# geo-response: two set-up commands (see README). Both create .venv and install into it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

LOCK := requirements/lock.txt
UV_VENV := .venv-tools

.PHONY: demo test bench lint clean lock wheel-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Locked install: every dependency (test extra included) pinned with hashes in $(LOCK), then the package itself.
$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# Regenerate the lock (Python 3.11, Linux x86_64) with uv, installed into its own scratch venv.
lock:
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet uv
	$(UV_VENV)/bin/uv pip compile pyproject.toml --extra test --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu --generate-hashes --quiet -o $(LOCK)

# Build the wheel, install it (locked dependencies) into a fresh venv and run the demo from it.
WHEEL_TMP ?= /tmp/geo-response-wheel-check
wheel-check: $(VENV)/.installed
	rm -rf $(WHEEL_TMP) && mkdir -p $(WHEEL_TMP)
	$(BIN)/python -m pip wheel --quiet --no-deps -w $(WHEEL_TMP)/dist .
	$(PYTHON) -m venv $(WHEEL_TMP)/venv
	$(WHEEL_TMP)/venv/bin/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(WHEEL_TMP)/venv/bin/python -m pip install --quiet --no-deps $(WHEEL_TMP)/dist/*.whl
	cd $(WHEEL_TMP) && venv/bin/python -c "import importlib.resources as r; \
		assert r.files('geo_response').joinpath('profiles/essex.toml').is_file(), 'essex.toml not in the wheel'"
	cd $(WHEEL_TMP) && venv/bin/geo-response demo --data-dir $(or $(GEO_RESPONSE_DATA),$(CURDIR)/../shared/data) --out $(WHEEL_TMP)/out
	test -s $(WHEEL_TMP)/out/report.html

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
	$(BIN)/ruff format --check geo_response tests benchmarks

clean:
	rm -rf $(VENV) $(UV_VENV) .pytest_cache
