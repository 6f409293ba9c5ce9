# Two commands for a new user (see README):
#   make baseline   set up .venv (once) and run the baseline scenario into runs/baseline/
#   make test       run the test suite
# and the web app:
#   make app        set up .venv (once) and serve the app on http://127.0.0.1:8765/
VENV := .venv
PYTHON := $(shell scripts/find-python)
STAMP := $(VENV)/.installed

.PHONY: baseline test lint setup clean app

baseline: $(STAMP)
	$(VENV)/bin/sim run scenarios/baseline.yaml

app: $(STAMP)
	$(VENV)/bin/sim app

test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || (echo "Python >= 3.12 not found" >&2; exit 1)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev,app]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) runs
