# Two commands for a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench wrk clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The stamp is rebuilt whenever the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[local,test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/modq quickstart

test: $(VENV)/.installed
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || $(MAKE) --no-print-directory browser || echo "no Chromium: the browser tests will be skipped" >&2
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check service model training tests bench
	$(BIN)/ruff format --check service model training tests bench

# The benchmarks (README, "Performance and scale"): wrk from Debian when it can be installed, else
# the bench's own Python load generator. BENCH_ARGS passes options, e.g. BENCH_ARGS=--smoke.
bench: $(VENV)/.installed
	@command -v wrk >/dev/null || $(MAKE) --no-print-directory wrk || echo "no wrk: a Python load generator is used" >&2
	$(BIN)/python -m bench $(BENCH_ARGS)

wrk:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null; \
	else echo "install wrk (Debian: apt-get install wrk) for the load rows" >&2; exit 1; fi

clean:
	rm -rf $(VENV) .modq

# The UI tests drive a real Chromium through Playwright; Playwright's own browser download needs
# the open internet, so the system's Chromium from Debian is used.
browser:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; \
	else echo "install Chromium (Debian: apt-get install chromium) for the browser tests" >&2; exit 1; fi
