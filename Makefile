# The README's two commands: `make demo` and `make test`. Both set up
# everything on a fresh Debian machine (as root): system packages, .venv, the
# project. Nothing is downloaded at run time.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SAMPLE := edge/assets/sample_call.flac

.PHONY: demo test test-fast lint format bench eval sample setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/install_system.sh
	PYTHON=$(PYTHON) bash scripts/install_system.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: replay the bundled sample call at real-time pace and print its events
demo: $(STAMP)
	$(BIN)/edge replay --realtime $(SAMPLE)

## test: lint, then the whole test suite (slow model tests included)
test: $(STAMP) lint
	$(BIN)/python -m pytest

## test-fast: the suite without the slow model tests
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: streaming latency benchmark at real-time pace (writes artifacts/bench_stream.*)
bench: $(STAMP)
	$(BIN)/python scripts/bench_stream.py

## sample: rebuild the bundled sample call (needs espeak-ng)
sample: $(STAMP)
	$(BIN)/python scripts/make_sample_call.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts
