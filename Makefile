# The two commands of the quick start: `make demo` and `make test`.
# Both create the virtualenv (.venv) and install coachd into it first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   ?= demo

.PHONY: demo test test-instants test-slow test-packaging lint bench clean test-deps

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
test: $(STAMP) lint test-deps
	$(BIN)/python -m pytest
	$(BIN)/python tests/run_at_instants.py

test-instants: $(STAMP)
	$(BIN)/python tests/run_at_instants.py

# The outside programs the tests start, from Debian when we are root with apt: headless
# Chromium measures the emails' rendered width, Dovecot serves IMAP on loopback for the
# inbox, redis-server is the broker of org mode's RQ workers. Without them those tests skip
# (and say so).
test-deps:
	@command -v chromium >/dev/null 2>&1 && [ -x /usr/sbin/dovecot ] \
	  && command -v redis-server >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] \
	  && command -v apt-get >/dev/null 2>&1 && apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	     dovecot-imapd redis-server >/dev/null; } \
	  || echo "note: chromium, dovecot or redis-server is not installed; the tests that need them will skip"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## test-slow: the long campaigns (crash campaign of 200+ kills, long kill tests)
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

## test-packaging: build the wheel, install it in a fresh venv, init + check + once there (~2 min)
test-packaging: $(STAMP)
	$(BIN)/python -m pytest -m packaging

## bench: print the benchmark figures quoted in the README (installs khal to compare with)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --editable '.[test,bench]'
	$(BIN)/python bench/plan_scale.py
	$(BIN)/python bench/api_economy.py
	$(BIN)/python bench/history.py
	$(BIN)/python bench/hostile_calendar.py
	$(BIN)/python bench/quarter.py
	$(BIN)/python bench/cold_start.py --quick
	$(BIN)/python bench/org.py --managers 100

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
