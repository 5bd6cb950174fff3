"""A value model: a transformers encoder (BERT-like, or the encoder of a T5) with a scalar head.

score(state) = sigmoid(w · pool(encoder(state.pretty)) + b), in [0, 1]. The head is the only part
this module saves and loads (`save_head` / `load_head`); the encoder is whatever checkpoint the
config names. A fresh head starts at zero, so an untrained model scores every state 0.5 (no
opinion) instead of random noise.

torch and transformers are imported when a model is built, never when this module is imported.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from prover.lean import ProofState

if TYPE_CHECKING:
    import torch

__all__ = ["TransformersValue", "TransformersValueConfig", "ValueModelError"]

log = logging.getLogger(__name__)

Pooling = Literal["mean", "cls"]

# Format tag of saved heads; bump when the file layout changes.
_HEAD_FORMAT = "prover-value-head/1"


class ValueModelError(Exception):
    """The value model cannot work as configured (encoder not loadable, head file unusable)."""


@dataclass(frozen=True)
class TransformersValueConfig:
    """Everything needed to build a `TransformersValue`."""

    # Encoder checkpoint: a local directory or a hub id.
    model: str
    # A head saved by `save_head`; None: a fresh (zero) head.
    head: str | None = None
    # "mean" over non-padding tokens (sentence-embedding models), or the first token ("cls", BERT).
    pooling: Pooling = "mean"
    # Longer states lose their beginning: the goal (after ⊢) is at the end and matters most.
    max_length: int = 512
    batch_size: int = 16
    device: str = "cpu"
    trust_remote_code: bool = False

    def __post_init__(self) -> None:
        if self.pooling not in ("mean", "cls"):
            raise ValueModelError(f"pooling must be 'mean' or 'cls', not {self.pooling!r}")
        if self.max_length < 1 or self.batch_size < 1:
            raise ValueModelError("max_length and batch_size must be positive")


class TransformersValue:
    """`ValueModel` over an encoder and a linear head with a sigmoid.

    Raises (at construction):
        ValueModelError: the encoder, tokenizer or head cannot be loaded.
    """

    def __init__(
        self,
        model: str | Path,
        *,
        head: str | Path | None = None,
        pooling: Pooling = "mean",
        max_length: int = 512,
        batch_size: int = 16,
        device: str = "cpu",
        trust_remote_code: bool = False,
    ) -> None:
        self._setup(TransformersValueConfig(
            model=str(model), head=None if head is None else str(head), pooling=pooling,
            max_length=max_length, batch_size=batch_size, device=device,
            trust_remote_code=trust_remote_code,
        ))

    @classmethod
    def from_config(cls, config: TransformersValueConfig) -> TransformersValue:
        self = cls.__new__(cls)
        self._setup(config)
        return self

    def _setup(self, config: TransformersValueConfig) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.config = config
        try:
            remote = config.trust_remote_code
            tokenizer = AutoTokenizer.from_pretrained(config.model, trust_remote_code=remote)
            encoder = AutoModel.from_pretrained(config.model, trust_remote_code=remote, dtype=torch.float32)
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise ValueModelError(f"cannot load value encoder {config.model!r}: {e}") from e
        if getattr(encoder.config, "is_encoder_decoder", False):
            # A T5-style checkpoint: only its encoder reads the state.
            encoder = encoder.get_encoder()
        hidden = getattr(encoder.config, "hidden_size", None) or getattr(encoder.config, "d_model", None)
        if not isinstance(hidden, int):
            raise ValueModelError(f"cannot tell the hidden size of {config.model!r}")
        tokenizer.truncation_side = "left"
        self.tokenizer = tokenizer
        self.encoder = encoder.to(config.device).eval()
        self.hidden_size = hidden
        self.head = torch.nn.Linear(hidden, 1).to(config.device)
        with torch.no_grad():
            self.head.weight.zero_()
            self.head.bias.zero_()
        if config.head is not None:
            self.load_head(config.head)

    # ------------------------------------------------------------------ scoring

    def score(self, state: ProofState | str) -> float:
        """How promising `state` looks, in [0, 1]."""
        return self.score_many([state])[0]

    def score_many(self, states: Sequence[ProofState | str]) -> list[float]:
        """`score` for many states, `batch_size` at a time; same order as `states`."""
        import torch

        out: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(states), self.config.batch_size):
                batch = states[start : start + self.config.batch_size]
                out.extend(float(p) for p in torch.sigmoid(self.logits(batch)))
        return out

    def embed(self, states: Sequence[ProofState | str]) -> torch.Tensor:
        """Pooled encoder features, shape (len(states), hidden_size); gradients flow if enabled."""
        texts = [s if isinstance(s, str) else s.pretty for s in states]
        enc = self.tokenizer(
            texts, return_tensors="pt", padding=True, truncation=True, max_length=self.config.max_length
        ).to(self.config.device)
        out = self.encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        hidden = out.last_hidden_state
        if self.config.pooling == "cls":
            return hidden[:, 0]
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def logits(self, states: Sequence[ProofState | str]) -> torch.Tensor:
        """Head outputs before the sigmoid, shape (len(states),); for training with BCE-with-logits."""
        return self.head(self.embed(states)).squeeze(-1)

    # ------------------------------------------------------------------ the head on disk

    def save_head(self, path: str | Path) -> None:
        """Write the head (and what it was trained on) to `path` (a torch file)."""
        import torch

        torch.save(
            {
                "format": _HEAD_FORMAT,
                "hidden_size": self.hidden_size,
                "pooling": self.config.pooling,
                "encoder": self.config.model,
                "weight": self.head.weight.detach().cpu(),
                "bias": self.head.bias.detach().cpu(),
            },
            Path(path),
        )

    def load_head(self, path: str | Path) -> None:
        """Replace the head with one saved by `save_head`.

        Raises:
            ValueModelError: missing or unreadable file, another format, or a different hidden size
                or pooling than this encoder's.
        """
        import torch

        try:
            saved: dict[str, Any] = torch.load(Path(path), map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as e:
            raise ValueModelError(f"cannot read value head {str(path)!r}: {e}") from e
        if not isinstance(saved, dict) or saved.get("format") != _HEAD_FORMAT:
            raise ValueModelError(f"{str(path)!r} is not a saved value head ({_HEAD_FORMAT})")
        if saved.get("hidden_size") != self.hidden_size:
            raise ValueModelError(
                f"value head {str(path)!r} is for hidden size {saved.get('hidden_size')}, "
                f"this encoder has {self.hidden_size}"
            )
        if saved.get("pooling") != self.config.pooling:
            raise ValueModelError(
                f"value head {str(path)!r} was trained with {saved.get('pooling')} pooling, "
                f"not {self.config.pooling}"
            )
        if saved.get("encoder") != self.config.model:
            # Legitimate when the same checkpoint moved; worth a line in the log, not a failure.
            log.info("value head %s was saved with encoder %s", path, saved.get("encoder"))
        with torch.no_grad():
            self.head.weight.copy_(saved["weight"])
            self.head.bias.copy_(saved["bias"])
