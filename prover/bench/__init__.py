"""Benchmark runs on miniF2F and ProofNet: loaders (`data`), settings (`config`), the per-problem
worker (`worker`), parallel and resumable runs on local processes or Ray (`runner`), summaries and
plots (`report`), and `prover bench` (`cli`). Nothing is imported here: the CLI's parser must not
pay for Lean's client or matplotlib.
"""
