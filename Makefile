# Every target (re)creates .venv from the lock file when needed: a fresh clone
# needs nothing but python3 (>= 3.11) and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench lock clean

$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "interview-bot needs Python >= 3.11 (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install -qq --no-deps --no-build-isolation -e .
	@# Byte-compiled now: with PYTHONDONTWRITEBYTECODE set, every start would compile bot/.
	$(BIN)/python -m compileall -q bot
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/interview-bot run

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# make bench                      every benchmark (dispatch, dispatch-100k, taps, stats, startup,
#                                  instances, history, history-stats)
# make bench SCENARIO=taps         one of them (or several, space-separated)
# make bench SCENARIO=stats ARGS="--updates 500 --no-record"   options for benchmarks.peak
# make bench SCENARIO=instances ARGS="--instances 1,2,3"      1, 2, 3 processes on one PostgreSQL
# make bench SCENARIO=history ARGS="--chats 20000 --days 365"  options for benchmarks.history
# PostgreSQL runs need TEST_DATABASE_URL; results are appended to BENCHMARKS.md.
SCENARIO ?= all
ARGS ?=
bench: install
	$(BIN)/python -m benchmarks $(SCENARIO) -- $(ARGS)

# Regenerate the lock files after changing dependencies in pyproject.toml.
lock: install
	$(BIN)/pip-compile --quiet --strip-extras --output-file requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --extra dev --allow-unsafe --output-file requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
