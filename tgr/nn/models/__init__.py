r"""Complete models that the examples train, built from :mod:`tgr.nn` layers."""
from .agc_lstm_net import AGCLSTMNet

__all__ = ['AGCLSTMNet']
