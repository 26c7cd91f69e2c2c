# The two commands of the quick start: `make demo` and `make test`.
# Both create the virtualenv (.venv) and install coachd into it first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   ?= demo

.PHONY: demo test test-instants test-slow lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[test]'
	touch $(STAMP)

## demo: set up, write a demo team + calendar into ./demo (once), and run the daemon on it
demo: $(STAMP)
	@test -f $(DEMO)/config.yaml || $(BIN)/coachd init $(DEMO) --demo
	cd $(DEMO) && ../$(BIN)/coachd check && ../$(BIN)/coachd run

## test: set up, then lint, type-check and run the test suite, then rerun the tests that
## plan on the demo at the instants in tests/instants.txt (DST days, week 53, a leap day ...)
test: $(STAMP) lint
	$(BIN)/python -m pytest
	$(BIN)/python tests/run_at_instants.py

test-instants: $(STAMP)
	$(BIN)/python tests/run_at_instants.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## test-slow: the long campaigns (crash campaign of 200+ kills, long kill tests)
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

## bench: print the benchmark figures quoted in the README
bench: $(STAMP)
	$(BIN)/python bench/plan_scale.py
	$(BIN)/python bench/api_economy.py
	$(BIN)/python bench/history.py
	$(BIN)/python bench/hostile_calendar.py
	$(BIN)/python bench/quarter.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
