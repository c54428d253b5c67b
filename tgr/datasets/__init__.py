r"""Loaders for the published formats of the datasets the examples use."""
__all__ = []
