# The commands a new user types: `make demo` and `make test`; a developer also has `make check`,
# `make bench`, `make notebooks` and `make upgrade`. Each creates the environment it needs in .venv
# from a bare Python 3.10+, with the exact versions of constraints.txt (see README, "The lock").
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := constraints.txt
INSTALL_LOG := $(VENV)/install.log

.PHONY: demo test check bench notebooks upgrade chromium selfhosted clean

# Installer output goes to a log: it is noise unless the install fails, and then the log's end is shown.
$(STAMP): pyproject.toml $(LOCK) Makefile
	@echo "Installing lg_magics and its test tools into $(VENV) (pinned by $(LOCK); log: $(INSTALL_LOG)) ..."
	@$(PYTHON) -m venv $(VENV)
	@{ $(BIN)/python -m pip install --upgrade -c $(LOCK) pip \
	   && $(BIN)/python -m pip install -c $(LOCK) -e '.[test]'; } > $(INSTALL_LOG) 2>&1 \
	   || { tail -n 40 $(INSTALL_LOG); echo "Install failed: the whole log is $(INSTALL_LOG)."; exit 1; }
	@touch $(STAMP)

# Execute the quickstart against the embedded server (the notebook starts it), printing each cell's
# outputs as it runs; the executed copy goes to build/.
demo: $(STAMP)
	@$(BIN)/python scripts/execute_notebook.py notebooks/quickstart.ipynb --output build/quickstart.ipynb --print
	@echo
	@echo "Open it live: $(BIN)/jupyter lab notebooks/quickstart.ipynb  (executed copy: build/quickstart.ipynb)"

# The fast tier: lint, format, types and the unit tests (no server, no kernel, no browser).
check: $(STAMP)
	@$(BIN)/python scripts/check

# Everything: the checks, then every tier (unit, a real Agent Server, real kernels, notebooks under
# strict nbval, JupyterLab in Debian's Chromium).
test: $(STAMP) chromium selfhosted
	@$(BIN)/python scripts/check
	$(BIN)/python -m pytest

# The browser tests drive Debian's Chromium with the playwright package (never
# `playwright install`, which downloads a browser of its own).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Self-hosted Agent Servers the tests run our demo graphs on (tests/test_selfhosted.py): Debian's
# PostgreSQL and Redis, Aegra in its own venv (it needs Python >= 3.12: the newest python3.1x found,
# or AEGRA_PYTHON=...), and the stock langgraph-api on PostgreSQL + Redis (langhost). Each venv is
# pinned by its list in tests/servers/.
AEGRA_PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python python3.13 $$HOME/.pyenv/versions/3.13*/bin/python; do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)

selfhosted: .venv-aegra/.installed .venv-langhost/.installed
	@{ [ -x /usr/lib/postgresql/*/bin/postgres ] 2>/dev/null || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; } && command -v redis-server >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null; }

.venv-aegra/.installed: tests/servers/aegra.txt
	@[ -n "$(AEGRA_PYTHON)" ] || { echo "Aegra needs Python >= 3.12: install one (e.g. pyenv install 3.12) or pass AEGRA_PYTHON=/path/to/python3.12."; exit 1; }
	@echo "Installing Aegra into .venv-aegra with $(AEGRA_PYTHON) (log: .venv-aegra/install.log) ..."
	@rm -rf .venv-aegra && $(AEGRA_PYTHON) -m venv .venv-aegra
	@.venv-aegra/bin/python -m pip install -r tests/servers/aegra.txt > .venv-aegra/install.log 2>&1 \
	  || { tail -n 20 .venv-aegra/install.log; exit 1; }
	@touch $@

.venv-langhost/.installed: tests/servers/langhost.txt
	@echo "Installing langhost (langgraph-api on PostgreSQL + Redis) into .venv-langhost (log: .venv-langhost/install.log) ..."
	@rm -rf .venv-langhost && $(PYTHON) -m venv .venv-langhost
	@.venv-langhost/bin/python -m pip install -r tests/servers/langhost.txt > .venv-langhost/install.log 2>&1 \
	  || { tail -n 20 .venv-langhost/install.log; exit 1; }
	@touch $@

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/stream.py
	$(BIN)/python benchmarks/notebooks.py
	$(BIN)/python benchmarks/batch.py

# Re-execute the notebooks in place (after changing them), so nbval has fresh outputs.
notebooks: $(STAMP)
	for nb in notebooks/*.ipynb; do $(BIN)/python scripts/execute_notebook.py $$nb --output $$nb || exit 1; done

# Refresh the lock to the newest releases that pyproject.toml's ranges allow, then run everything
# with them: how we learn that a release broke us. Commit constraints.txt when it passes.
upgrade:
	$(PYTHON) scripts/lock.py $(LOCK)
	rm -f $(STAMP)
	$(MAKE) test

clean:
	rm -rf $(VENV) .venv-aegra .venv-langhost build
