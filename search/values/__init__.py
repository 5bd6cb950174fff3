"""Value models: a simple default and a transformers encoder with a scalar head."""
