"""The shared model package `prover.models`: its place in the package graph and its configuration faults.

The clients themselves are tested through their users: the HTTP client in test_policy_http.py
and test_formalize_units.py, the transformers loader in test_policy_transformers.py,
test_tactic_lm.py and test_formalize_smollm2.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from prover.models.errors import ModelError
from prover.models.openai_client import OpenAIClient, OpenAIClientConfig
from prover.models.transformers_lm import Decoding, LMConfig


def test_models_import_nothing_above_them() -> None:
    """search, the formalizer, the trainer and the bench import prover.models, never the reverse;
    and importing it loads no torch or transformers."""
    code = (
        "import sys; import prover.models.errors, prover.models.prompts, prover.models.local, "
        "prover.models.openai_client, prover.models.transformers_lm; "
        "above = ('search', 'prover.formalize', 'prover.learn', 'prover.bench', 'torch', 'transformers'); "
        "bad = sorted(m for m in sys.modules if any(m == a or m.startswith(a + '.') for a in above)); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize(
    "options",
    [{"endpoint": "websocket"}, {"timeout": 0}, {"retries": -1}, {"n": 0}, {"max_requests": 0},
     {"base_url": "localhost:8000"}],
)
def test_client_configuration_faults_are_model_errors(options: dict[str, object]) -> None:
    with pytest.raises(ModelError):
        OpenAIClientConfig(**{"base_url": "http://127.0.0.1:1", "model": "m", **options})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options", [{"max_new_tokens": 0}, {"temperature": 0.0}, {"top_p": 1.5}, {"max_input_tokens": 0}]
)
def test_decoding_faults_are_model_errors(options: dict[str, object]) -> None:
    with pytest.raises(ModelError):
        Decoding(**options)  # type: ignore[arg-type]
    assert Decoding(beam=True, temperature=0.0).beam  # beam search needs no temperature


def test_unknown_model_kind_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="kind"):
        LMConfig(model="m", kind="diffusion")  # type: ignore[arg-type]


def test_client_normalises_the_base_url_and_sends_nothing_at_construction() -> None:
    client = OpenAIClient(OpenAIClientConfig(base_url="http://127.0.0.1:9/", model="m"))
    assert client.base_url == "http://127.0.0.1:9/v1"
    assert client.requests_sent == 0
    assert client.complete_texts("p", 0) == []
