# Two entry points: `make demo` and `make test`; both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test pytest lit lint clean

setup: $(STAMP)

# torch 2.13.0 (CPU) goes in first so that nothing pulls a CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/python tools/demo.py

test: pytest lit

pytest: setup
	$(BIN)/pytest -q tests

lit: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/lit -v tests/filecheck

lint: setup
	$(BIN)/ruff check ramiel_mlir tests tools
	$(BIN)/ruff format --check ramiel_mlir tests tools
	$(BIN)/pyright

clean:
	rm -rf $(VENV) build *.egg-info
