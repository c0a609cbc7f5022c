# Set-up and everyday commands. Everything runs from a local virtual environment in .venv,
# made with `python3 -m venv` and pip on a fresh machine (Python >= 3.10, package registries).
# The test environment is pinned by requirements/lock.txt (pip constraints); `make lock`
# refreshes it from the newest releases, `make test-latest` tries them without changing it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ccel-installed
LOCK   := requirements/lock.txt
PORT   ?= 8501
LATEST := .venv-latest

.PHONY: setup explore lint test test-fast test-numerics test-latest lock bench notebooks clean

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -c $(LOCK) --upgrade pip
	$(BIN)/python -m pip install -c $(LOCK) -e '.[all]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install ccel with the app, notebook, benchmark and test extras (pinned)

explore: setup  ## launch the explorer app on built-in data (no download, no GPU needed)
	$(BIN)/streamlit run explorer/app.py --server.port $(PORT)

lint: setup  ## ruff (lint + format check) and mypy on ccel_core, as configured in pyproject.toml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint  ## lint and type check, then the whole test suite (unit, app, notebook and browser tests)
	$(BIN)/python -m pytest

test-fast: setup  ## everything except tests marked slow or browser
	$(BIN)/python -m pytest -m "not slow and not browser"

test-numerics: setup  ## the tests that compare with external optimizers, rerun with numpy/OpenBLAS/numba kernels and reference tolerances varied
	$(BIN)/python tests/numerics_matrix.py

test-latest:  ## the whole suite on the newest releases the ranges in pyproject.toml allow (own venv)
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --upgrade pip
	$(LATEST)/bin/python -m pip install -e '.[all]'
	$(LATEST)/bin/ruff check . && $(LATEST)/bin/mypy
	$(LATEST)/bin/python -m pytest

lock:  ## re-pin requirements/lock.txt to the newest releases (then run `make test`)
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --upgrade pip
	.venv-lock/bin/python -m pip install -e '.[all]'
	{ sed -n '1,4p' $(LOCK); echo "# Made on $$(date -u +%F) with Python $$(.venv-lock/bin/python -c 'import platform; print(platform.python_version())') on $$(uname -sm)."; \
	  .venv-lock/bin/python -m pip freeze --all --exclude-editable; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf .venv-lock

bench: setup  ## the solver race (paper Table 1)
	$(BIN)/python benchmarks/solver_race.py

notebooks: setup  ## pair notebooks/*.ipynb with their jupytext sources notebooks/*.py (the newer side wins; edit the .py)
	$(BIN)/jupytext --sync notebooks/*.py

clean:
	rm -rf $(VENV) $(LATEST) .venv-lock .pytest_cache .hypothesis build *.egg-info
