"""Model clients. See base.ModelClient."""
