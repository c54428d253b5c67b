r"""Complete models that the examples train, built from :mod:`tgr.nn` layers."""
__all__ = []
