# Everyday commands. `make demo` and `make test` are the README's two commands: each creates
# the virtual environment (.venv) and installs the project first if that has not been done.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install lock audit demo test lint types unit bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,sandbox]"
	touch $@

install: $(VENV)/.installed

# Re-resolve every dependency from pyproject.toml in a throw-away venv and pin the result in
# constraints.txt. Run it on purpose (then `make test`), never as part of CI.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e ".[dev,sandbox]"
	{ sed -n '1,2p' constraints.txt; .lock-venv/bin/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .lock-venv

demo: install
	$(BIN)/orchestrator demo

# The suite runs on twice the cores of the reference machine (two): much of it waits on
# processes and sockets (its own CPU is well under the cores' time), each test has its own
# schema and key prefix, and a file's tests stay in one process.
TEST_WORKERS ?= 4
# More pytest options, e.g. `make test PYTEST_ARGS=--durations=0` for every test's time.
PYTEST_ARGS ?=

test: install lint types
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --durations=25 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install
	$(BIN)/mypy orchestrator channels

# Known vulnerabilities in the pinned set (PyPI's advisory data; needs pypi.org).
audit: install
	$(BIN)/pip-audit -r constraints.txt --no-deps --disable-pip --progress-spinner off

bench: install
	$(BIN)/orchestrator bench --help

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
