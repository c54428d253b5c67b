r"""Readers of raw published formats, one module per format."""
