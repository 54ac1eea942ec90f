#!/usr/bin/env bash
# The GPU check, run on the device machine from the repository root, in one or two calls
# (a call may run 10 minutes at most):
#   bash scripts/device/gpu-check.sh first    # wheels, CUDA tests, shared baseline, procedural on GPU (~5 min)
#   bash scripts/device/gpu-check.sh ltx2     # wheels, bench/ltx2_gpu.py: this backend against plain diffusers (~6 min)
# Prepare here first: scripts/device/fetch-wheels.sh; cp -r ../shared/bench .bench
# and carry [".device-wheels", ".bench"]. Everything lands in $OUT.
set -uo pipefail
stage=${1:-first}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
python3 -m pip install --quiet --no-index --find-links .device-wheels \
  diffusers==0.42.1 av sqlite-utils pytest-asyncio 2>&1 | tail -3
export PYTHONPATH=$PWD HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
python3 -c "import torch, diffusers, av; print(torch.__version__, diffusers.__version__, av.__version__)" \
  >> "$OUT/gpu.txt" 2>&1
if [ "$stage" = first ]; then
  # The backends choose CUDA by themselves when it is there.
  timeout 150 python3 -m pytest -q -x -p no:cacheprovider tests/ltx2 tests/procedural/test_generate.py \
    > "$OUT/tests.txt" 2>&1; echo "tests exit $?" >> "$OUT/tests.txt"
  [ -f .bench/ltx2_anchor.py ] && OUT="$OUT" timeout 240 python3 .bench/ltx2_anchor.py > "$OUT/ltx2_anchor.txt" 2>&1
  timeout 60 python3 bench/procedural.py --device cuda > "$OUT/procedural_gpu.txt" 2>&1
else
  OUT="$OUT" timeout 560 python3 bench/ltx2_gpu.py > "$OUT/ltx2_gpu.txt" 2>&1
  echo "ltx2_gpu exit $?" >> "$OUT/ltx2_gpu.txt"
fi
tail -n 8 "$OUT"/*.txt
