"""Prompt formats and the cleaning of untrusted model output into tactics.

Shared by the model-backed tactic policies (`search.policies`) and the generator trainer
(`prover.learn.tactic_lm`). A model's output is untrusted text: `extract_tactic` turns one raw
completion into at most one tactic (or nothing), and `rank_candidates` merges the survivors into
the distinct, best-first list that `Policy.propose` promises. Nothing here raises on model output;
only configuration mistakes (an unknown format name, a template without `{state}`) raise
`ModelError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prover.lean import decls
from prover.models.errors import ModelError

if TYPE_CHECKING:
    from prover.lean import ProofState


# The placeholder a custom template must contain.
STATE_FIELD = "{state}"


@dataclass(frozen=True)
class PromptFormat:
    """How a proof state becomes the model's input.

    `template` contains `{state}` once, replaced by Lean's pretty-printed goals (`ProofState.pretty`).
    Only that placeholder is substituted, so Lean's own braces in states need no escaping.
    """

    name: str
    template: str

    def render(self, state: ProofState | str) -> str:
        text = state if isinstance(state, str) else state.pretty
        return self.template.replace(STATE_FIELD, text)


# ReProver's generator reads the bare state and writes the tactic (retrieval not included).
REPROVER = PromptFormat("reprover", STATE_FIELD)
# BFS-Prover(-V2) reads `{state}:::` and writes the tactic followed by end-of-sequence.
BFS_PROVER = PromptFormat("bfs_prover", STATE_FIELD + ":::")
# For general instruction-tuned models (no fine-tuning on tactics): ask for one tactic.
INSTRUCT = PromptFormat(
    "instruct",
    "Lean 4 proof state:\n" + STATE_FIELD + "\n\nReply with the single next Lean 4 tactic only.\nTactic:",
)

BUILTIN_FORMATS: dict[str, PromptFormat] = {f.name: f for f in (REPROVER, BFS_PROVER, INSTRUCT)}


def prompt_format(spec: str | PromptFormat) -> PromptFormat:
    """A built-in format by name (`reprover`, `bfs_prover`, `instruct`) or a custom template.

    Raises:
        ModelError: `spec` is neither a built-in name nor a template containing `{state}`.
    """
    if isinstance(spec, PromptFormat):
        if STATE_FIELD not in spec.template:
            raise ModelError(f"prompt format {spec.name!r} has no {STATE_FIELD} placeholder")
        return spec
    if spec in BUILTIN_FORMATS:
        return BUILTIN_FORMATS[spec]
    if STATE_FIELD in spec:
        return PromptFormat("custom", spec)
    raise ModelError(
        f"unknown prompt format {spec!r}: use one of {sorted(BUILTIN_FORMATS)} "
        f"or a template containing {STATE_FIELD}"
    )


@dataclass(frozen=True)
class Extracted:
    """A tactic cut out of a raw completion.

    `end` is the offset in the raw completion just past the last character kept, so that a caller
    holding per-token log-probabilities can sum those of the tokens that produced the tactic.
    """

    tactic: str
    end: int


# Longest tactic kept by default; longer outputs are rambling, not tactics, and are dropped
# rather than cut (a cut tactic is a syntax error that still costs a Lean call).
DEFAULT_MAX_TACTIC_CHARS = 512

_FENCE = re.compile(r"```[^\n`]*\n")
# Commands that belong to a file, not to a proof: their lines are skipped before the first tactic.
_PREAMBLE = frozenset({"import", "open", "namespace", "section", "set_option", "variable", "universe"})
_COMMENT = re.compile(r"\s+--.*$")
# Tactics that close goals without proof: never worth a Lean call, the verifier rejects them.
_CHEATS = re.compile(r"\b(?:sorry|admit)\b")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _lines(text: str, start: int, stop: int) -> list[tuple[int, str]]:
    """(offset, line) pairs for text[start:stop], line terminators excluded."""
    out: list[tuple[int, str]] = []
    pos = start
    while pos <= stop:
        nl = text.find("\n", pos, stop)
        end = stop if nl < 0 else nl
        out.append((pos, text[pos:end]))
        if nl < 0:
            break
        pos = nl + 1
    return out


def _echoed_goal_end(lines: list[tuple[int, str]], i: int) -> int | None:
    """If the paragraph at line i is a goal display (hypotheses, then `⊢ target`), the index of
    the line after its `⊢` line; models fed a state often repeat it before (or instead of) a tactic.
    """
    for j in range(i, len(lines)):
        stripped = lines[j][1].strip()
        if not stripped:
            return None
        if stripped.startswith("⊢"):
            return j + 1
    return None


def _is_preamble(line: str) -> bool:
    """Whether the line is a file's command (`import …`, `open …`, …), read by `prover.lean.decls`."""
    items = decls.split(line.lstrip())
    return bool(items) and isinstance(items[0], decls.Command) and items[0].keyword in _PREAMBLE


def _after_echoed_header(line: str) -> int | None:
    """Where the tactics start in a line that is a theorem's header up to `:= by`, or None."""
    found = decls.theorems(line)
    return decls.tactics_at(line, found[0]) if found else None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def extract_tactic(
    raw: object,
    *,
    echoes: Iterable[str] = (),
    max_chars: int = DEFAULT_MAX_TACTIC_CHARS,
) -> Extracted | None:
    """The first tactic in one raw model completion, or None if there is none worth trying.

    Steps: drop an echo of the prompt or state at the start; prefer the first fenced code block
    (```lean ... ```) if any; skip blank lines, comments, file preamble, a repeated goal display
    (a paragraph ending in a `⊢` line), a `theorem ... := by` header (keeping a tactic written
    after `by` on the same line) and a leading `by`; then keep the first
    line plus the lines that continue it (deeper indentation, or `|` alternatives), dedented.
    Trailing `--` comments and inline backticks are removed. The result is dropped if it is
    empty, longer than `max_chars`, contains control characters or a goal turnstile (an echoed
    state, not a tactic), or uses `sorry`/`admit`.

    Args:
        raw: the completion; anything that is not a string yields None.
        echoes: texts the model may repeat before answering (the prompt, the state).
        max_chars: longest tactic kept.
    """
    if not isinstance(raw, str):
        return None
    start = 0
    for echo in sorted((e for e in echoes if e), key=len, reverse=True):
        if raw.startswith(echo):
            start = len(echo)
            break
    stop = len(raw)
    fence = _FENCE.search(raw, start)
    if fence is not None:
        start = fence.end()
        close = raw.find("```", start)
        stop = len(raw) if close < 0 else close

    lines = _lines(raw, start, stop)
    i = 0
    first: tuple[int, str] | None = None
    while i < len(lines):
        offset, line = lines[i]
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("--") or _is_preamble(line) or stripped == "by":
            continue
        turnstile = _echoed_goal_end(lines, i - 1)
        if turnstile is not None:
            i = turnstile
            continue
        after = _after_echoed_header(line)
        if after is not None:  # the theorem's own `… := by`, echoed: the tactic follows it
            rest = line[after:]
            if rest.strip():
                first = (offset + after, rest)
                break
            continue
        if line.lstrip().startswith("by "):
            cut = line.index("by ") + 3
            first = (offset + cut, line[cut:])
        else:
            first = (offset, line)
        break
    if first is None:
        return None

    base = _indent(first[1])
    block = [first[1][base:].rstrip()]
    end = first[0] + len(first[1].rstrip())
    for offset, line in lines[i:]:
        if not line.strip():
            break
        indent = _indent(line)
        if indent > base or (indent == base and line.lstrip().startswith("|")):
            block.append(line[min(base, indent):].rstrip())
            end = offset + len(line.rstrip())
        else:
            break

    # Comments and inline-code backticks change nothing in Lean but would defeat deduplication.
    block = [_COMMENT.sub("", b) if "--" in b else b for b in block]
    block = [b for b in block if b.strip() and not b.lstrip().startswith("--")]
    if not block:
        return None
    if len(block) == 1:
        only = block[0].strip()
        if len(only) > 2 and only.startswith("`") and only.endswith("`") and only.count("`") == 2:
            block = [only[1:-1]]
    tactic = "\n".join(block).strip()
    if (
        not tactic
        or len(tactic) > max_chars
        or _CONTROL.search(tactic)
        or "⊢" in tactic
        or _CHEATS.search(tactic)
    ):
        return None
    return Extracted(tactic, end)


def tactic_key(tactic: str) -> str:
    """Identity for deduplication: runs of spaces and tabs collapse, line structure stays."""
    return "\n".join(" ".join(line.split()) for line in tactic.split("\n"))


@dataclass(frozen=True)
class Scored:
    """One cleaned sample before ranking; `logprob` None when the backend gave none."""

    tactic: str
    logprob: float | None


def rank_candidates(samples: Iterable[Scored], k: int) -> list[tuple[str, float]]:
    """Distinct tactics, best first, at most `k`.

    With log-probabilities for every sample, a tactic's score is the best log-probability among
    its samples. If any sample lacks one, all tactics are scored by their empirical frequency
    instead: log(count / number of samples), ties broken by first appearance (a tiny penalty per
    position) — an estimate of the sampling probability that needs nothing from the backend.
    Non-finite log-probabilities count as missing.
    """
    items = list(samples)
    if k <= 0 or not items:
        return []
    first_seen: dict[str, int] = {}
    shown: dict[str, str] = {}
    counts: dict[str, int] = {}
    best: dict[str, float] = {}
    all_scored = True
    for s in items:
        key = tactic_key(s.tactic)
        if key not in first_seen:
            first_seen[key] = len(first_seen)
            shown[key] = s.tactic
        counts[key] = counts.get(key, 0) + 1
        if s.logprob is None or not math.isfinite(s.logprob):
            all_scored = False
        else:
            best[key] = max(best.get(key, -math.inf), s.logprob)
    if all_scored:
        scores = {key: min(best[key], 0.0) for key in first_seen}
    else:
        total = len(items)
        scores = {key: math.log(counts[key] / total) - 1e-6 * first_seen[key] for key in first_seen}
    order = sorted(first_seen, key=lambda key: (-scores[key], first_seen[key]))
    return [(shown[key], scores[key]) for key in order[:k]]
