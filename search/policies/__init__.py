"""Tactic policies: the built-in prior, transformers models, OpenAI-compatible servers."""
