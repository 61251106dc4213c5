# Two entry points: `make demo` runs the flow end to end, `make test` runs every test.
# Both create and fill .venv on first use (torch CPU wheel first, then the package).

PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
JOBS   ?= 2

.PHONY: venv demo test quick lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python tools/demo.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup

quick: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) -m "not slow and not sim and not synth and not hls"

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build out runs .pytest_cache
