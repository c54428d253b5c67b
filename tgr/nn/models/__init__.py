r"""Complete models that the examples train, built from :mod:`tgr.nn` layers."""
from .agc_lstm_net import AGCLSTMNet
from .agc_lstm_joint_part_net import AGCLSTMJointPartNet
from .hierarchical_attention_network import HierarchicalAttentionNetwork

__all__ = ['AGCLSTMNet', 'AGCLSTMJointPartNet', 'HierarchicalAttentionNetwork']
