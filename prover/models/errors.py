"""The one fault of talking to language models: a model-backed component cannot work as configured."""

from __future__ import annotations


class ModelError(Exception):
    """A model-backed component cannot work as configured: a bad model path or URL, a rejected key,
    a server that never answered, an unknown prompt format or decoding option.

    Raised only for faults that retrying cannot fix; bad model output never raises.
    """
