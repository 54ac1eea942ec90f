#!/usr/bin/env bash
# The GPU check, run on the device machine from the repository root (a call may run 10 minutes at most):
#   bash scripts/device/gpu-check.sh ltx2     # ONE call (~9 min): doctor, the ltx2 tests on CUDA, then bench/ltx2_gpu.py:
#                                             # plain diffusers, every speed lever on and off, every memory plan
#                                             # (24 GB simulated), time-boxed so it ends inside the call
#   bash scripts/device/gpu-check.sh first    # the shared baseline and the procedural renderer on the GPU (~5 min)
# Prepare here first: scripts/device/fetch-wheels.sh; cp -r ../shared/bench .bench
# and carry [".device-wheels", ".bench"]. Everything lands in $OUT.
set -uo pipefail
stage=${1:-ltx2}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
python3 -m pip install --quiet --no-index --find-links .device-wheels \
  diffusers==0.42.1 av sqlite-utils pytest-asyncio pytest-timeout 2>&1 | tail -3
export PYTHONPATH=$PWD HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
python3 -c "import torch, diffusers, av; print(torch.__version__, diffusers.__version__, av.__version__)" \
  >> "$OUT/gpu.txt" 2>&1
if [ "$stage" = first ]; then
  # The backends choose CUDA by themselves when it is there.
  timeout 150 python3 -m pytest -q -x -p no:cacheprovider tests/procedural/test_generate.py \
    > "$OUT/tests.txt" 2>&1; echo "tests exit $?" >> "$OUT/tests.txt"
  [ -f .bench/ltx2_anchor.py ] && OUT="$OUT" timeout 240 python3 .bench/ltx2_anchor.py > "$OUT/ltx2_anchor.txt" 2>&1
  timeout 60 python3 bench/procedural.py --device cuda > "$OUT/procedural_gpu.txt" 2>&1
else
  # What an operator would see first: doctor with the tiny folder, on this card.
  python3 -m bots.cli model tiny-ltx2 /tmp/tiny-ltx2 > /dev/null 2>&1
  SORABOX_CONFIG=/tmp/none.toml timeout 60 python3 -m bots.cli doctor --backend ltx2 --model-dir /tmp/tiny-ltx2 \
    > "$OUT/doctor.txt" 2>&1; echo "doctor exit $?" >> "$OUT/doctor.txt"
  timeout 100 python3 -m pytest -q -x -p no:cacheprovider tests/ltx2 > "$OUT/tests.txt" 2>&1
  echo "tests exit $?" >> "$OUT/tests.txt"
  # The bench stops starting runs at --budget-s and records what it skipped; timeout is the backstop.
  OUT="$OUT" timeout 440 python3 bench/ltx2_gpu.py --budget-s 400 > "$OUT/ltx2_gpu.txt" 2>&1
  echo "ltx2_gpu exit $?" >> "$OUT/ltx2_gpu.txt"
fi
tail -n 8 "$OUT"/*.txt
