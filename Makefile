# `make run` and `make test` work on a fresh machine with only Python 3.11: the virtualenv is built from
# the hash-pinned lock file the first time (and again whenever the lock file changes).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock

# The planner's compiled core (clinic/native.py): rebuilt when its sources change; NATIVE=0 runs the .py files.
NATIVE ?= 1
NATIVE_SOURCES := careplans/cadence.py scheduling/planner.py
NATIVE_DONE := var/native-build/.done

.PHONY: run test lint bench venv lock native native-state

$(STAMP): requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required; set PYTHON=/path/to/python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	touch $(STAMP)

venv: $(STAMP)

$(NATIVE_DONE): $(STAMP) $(NATIVE_SOURCES) clinic/native.py
	$(BIN)/python -m clinic.native build || true
	@mkdir -p $(dir $@) && touch $@

native:
	rm -f $(NATIVE_DONE)
	$(MAKE) $(NATIVE_DONE)

ifeq ($(NATIVE),0)
native-state: venv
	$(BIN)/python -m clinic.native clean
	rm -f $(NATIVE_DONE)
else
native-state: $(NATIVE_DONE)
endif

run: native-state
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_clinic
	$(BIN)/honcho start -f Procfile 2>&1 || true

# The tests get a throwaway var/ folder: on the embedded default their Celery tasks, email and cache files
# would otherwise be left in the developer's var/, where the next `make run` worker picked the tasks up.
test: native-state
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && CLINIC_VAR_DIR="$$scratch" $(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

bench: native-state
	$(BIN)/python -m bench

# Re-pin after editing pyproject.toml (needs network access to PyPI).
lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 --generate-hashes -o requirements.lock
