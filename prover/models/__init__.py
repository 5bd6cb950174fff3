"""Talking to language models, shared by the search's policies, the autoformalizer and the trainer.

Modules, one job each: `errors` (`ModelError`), `prompts` (prompt formats and the cleaning of
untrusted model output into tactics), `local` (model files shipped inside PyPI packages),
`openai_client` (an OpenAI-compatible HTTP client), `transformers_lm` (loading a transformers
model and sampling text from it).

Nothing here imports torch or transformers until a model is loaded, and nothing imports `search`,
`prover.formalize`, `prover.learn` or `prover.bench`: they import this package, not the reverse.
"""
