#!/usr/bin/env bash
# The service benchmark on an on-prem GPU server (issue 15): N = 50, 100, 200, 400
# simultaneous real-time calls through `edge serve` with Whisper on CUDA (float16),
# within 10 minutes; writes artifacts/gpu/bench_service.{json,md} (the table).
#
# One prepared command; it installs nothing and reaches nothing outside the machine:
# run it from a checkout whose virtual environment is already set up (`make setup`
# on the GPU server, the models bundled as on any install).
#
#   scripts/bench_gpu.sh                 # N = 50,100,200,400
#   CALLS=50,100 scripts/bench_gpu.sh    # fewer
#
# Whisper runs on the GPU; the VAD, emotion and text models on the CPU cores, as in
# production. The service's default [pipeline.load] stays on: an N it cannot carry
# shows as degraded steps and 1013 refusals (column "sustained": no), not as growing lag.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
CALLS=${CALLS:-50,100,200,400}
OUT=${OUT:-artifacts/gpu}

"$PYTHON" - <<'CHECK'
import sys
import ctranslate2
if ctranslate2.get_cuda_device_count() < 1:
    sys.exit("no CUDA device visible to CTranslate2: run scripts/bench_gpu.sh on the GPU server")
CHECK

GPU=$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -1 || true)
# Each N: a 62 s call N times at once, about 100 s with start-up and settling: 4 runs fit
# in 10 minutes. `timeout` keeps the whole within them; each finished N is in the log.
exec timeout --signal=INT 600 "$PYTHON" scripts/bench_service.py \
    --device cuda --calls "$CALLS" --workers 1 --out "$OUT" --docs "" \
    --note "Whisper on the GPU (${GPU:-GPU unknown}), float16; VAD, emotion and text on the CPU."
