r"""Derivatives shared by the hand-written backward passes of the layers."""
import torch

#: :math:`g \odot \sigma'(x)` from :math:`y = \sigma(x)`: :obj:`(g, y)`, one
#: fused kernel.
sigmoid_backward = torch.ops.aten.sigmoid_backward

#: :math:`g \odot \tanh'(x)` from :math:`y = \tanh(x)`: :obj:`(g, y)`, one
#: fused kernel.
tanh_backward = torch.ops.aten.tanh_backward

#: The same, written into :obj:`grad_input` (which may be :obj:`g` itself).
sigmoid_backward_out = torch.ops.aten.sigmoid_backward.grad_input
tanh_backward_out = torch.ops.aten.tanh_backward.grad_input
