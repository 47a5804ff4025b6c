# The two commands a new user types: `make demo` and `make test`.
# Each creates the environment it needs in .venv from a bare Python 3.10+.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench notebooks chromium clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Execute the quickstart against the embedded server (the notebook starts it),
# write the executed copy to build/ and print its text outputs.
demo: $(STAMP)
	$(BIN)/python scripts/execute_notebook.py notebooks/quickstart.ipynb --output build/quickstart.ipynb --print

# The whole suite: unit tests, integration tests against a real Agent Server,
# notebooks under strict nbval, JupyterLab in Debian's Chromium.
test: $(STAMP) chromium
	$(BIN)/python -m pytest

# The browser tests drive Debian's Chromium with the playwright package (never
# `playwright install`, which downloads a browser of its own).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/notebooks.py
	$(BIN)/python benchmarks/batch.py

# Re-execute the notebooks in place (after changing them), so nbval has fresh outputs.
notebooks: $(STAMP)
	for nb in notebooks/*.ipynb; do $(BIN)/python scripts/execute_notebook.py $$nb --output $$nb || exit 1; done

clean:
	rm -rf $(VENV) build
