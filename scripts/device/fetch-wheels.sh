#!/usr/bin/env bash
# Wheels the GPU machine lacks, for its Python 3.12 (it reaches no package registry). Run here, then
# name .device-wheels in the device tool's `carry`. The machine's image already has torch, numpy,
# transformers, accelerate, safetensors, aiohttp, pillow, pytest and hypothesis.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .device-wheels && mkdir -p .device-wheels
pip=${PIP:-.venv/bin/pip}
"$pip" download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform any -d .device-wheels \
  "diffusers==0.42.1" "av==19.0.2" "sqlite-utils==4.2.1" "sqlite-fts4==1.0.3" "click-default-group==1.2.4" \
  "tabulate==0.10.0" "importlib-metadata==10.2.0" "zipp==4.1.2" "pytest-asyncio==1.5.0"
du -sh .device-wheels
