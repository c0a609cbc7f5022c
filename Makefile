# Set-up and everyday commands. Everything runs from a local virtual environment in .venv,
# made with `python3 -m venv` and pip on a fresh machine (Python >= 3.10, package registries).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ccel-installed
PORT   ?= 8501

.PHONY: setup explore test test-fast bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[all]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install ccel with the app, notebook, benchmark and test extras

explore: setup  ## launch the explorer app on built-in data (no download, no GPU needed)
	$(BIN)/streamlit run explorer/app.py --server.port $(PORT)

test: setup  ## the whole test suite (unit, app, notebook and browser tests)
	$(BIN)/python -m pytest

test-fast: setup  ## everything except tests marked slow or browser
	$(BIN)/python -m pytest -m "not slow and not browser"

bench: setup  ## the solver race (paper Table 1)
	$(BIN)/python benchmarks/solver_race.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
