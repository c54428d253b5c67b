import math
from typing import Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import Linear
from torch_geometric.nn.aggr import Aggregation

from ...utils import scatter
from .._checks import check_channels, check_node_features, input_channels

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def segment_index(ptr: Tensor, num_elements: int) -> Tensor:
    r"""The segment of every element from sorted segment boundaries
    :obj:`ptr` (segment :math:`i` holds the elements
    :obj:`ptr[i]:ptr[i + 1]`); no host synchronisation."""
    counts = ptr[1:] - ptr[:-1]
    return torch.repeat_interleave(
        torch.arange(counts.numel(), device=ptr.device), counts,
        output_size=num_elements)


class AttentionPooling(Aggregation):
    r"""The attention pooling of the `"Hierarchical Attention Networks for
    Document Classification" <https://aclanthology.org/N16-1174/>`_ paper
    (Yang et al., NAACL 2016): a learned context vector
    :math:`\mathbf{u}_w` scores every element, and each segment (the words of
    a sentence, the sentences of a document) is the attention-weighted sum
    of its elements,

    .. math::
        \mathbf{u}_t &= \tanh(\mathbf{W} \mathbf{h}_t + \mathbf{b})

        \alpha_t &= \frac{\exp(\mathbf{u}_t^{\top} \mathbf{u}_w)}
        {\sum_{t' \in \mathcal{S}(t)} \exp(\mathbf{u}_{t'}^{\top}
        \mathbf{u}_w)}

        \mathbf{s}_i &= \sum_{t \in \mathcal{S}_i} \alpha_t \mathbf{h}_t,

    where :math:`\mathcal{S}_i` is the set of elements of segment :math:`i`
    (given by :obj:`index` or a sorted :obj:`ptr`) and
    :math:`\mathcal{S}(t)` the segment of element :math:`t`. The softmax is
    taken over the elements of each segment only, so no padding enters it;
    an empty segment gives a zero vector.

    The scores and the softmax are computed in at least single precision
    (under :obj:`bfloat16` autocast the scores are cast up); the weights are
    cast to the dtype of :obj:`x` for the sum.

    Args:
        in_channels (int): Size of each element :math:`\mathbf{h}_t`, or
            :obj:`-1` to derive it from the first input.
        att_channels (int): Size of :math:`\mathbf{u}_t` and of the context
            vector :math:`\mathbf{u}_w`.
        bias (bool, optional): If set to :obj:`False`, :math:`\mathbf{b}` is
            left out. (default: :obj:`True`)

    Shapes:
        - **input:** elements :math:`(N, F_{in})`, segment of every element
          :math:`(N,)` *(optional)* or sorted segment boundaries
          :math:`(S + 1,)` *(optional)*
        - **output:** segments :math:`(S, F_{in})`, and with
          :obj:`return_attention_weights=True` also the weights
          :math:`(N,)`
    """
    def __init__(self, in_channels: int, att_channels: int,
                 bias: bool = True):
        super().__init__()
        check_channels(self.__class__.__name__, in_channels=in_channels,
                       att_channels=att_channels)
        self.in_channels = in_channels
        self.att_channels = att_channels
        self.bias = bias
        self.lin = Linear(in_channels, att_channels, bias=bias,
                          weight_initializer='glorot')
        self.context = Parameter(torch.empty(att_channels))
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        self.lin.reset_parameters()
        bound = 1.0 / math.sqrt(self.att_channels)
        torch.nn.init.uniform_(self.context, -bound, bound)

    def forward(
        self,
        x: Tensor,
        index: Optional[Tensor] = None,
        ptr: Optional[Tensor] = None,
        dim_size: Optional[int] = None,
        dim: int = -2,
        return_attention_weights: Optional[bool] = None,
    ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        r"""Pools the elements :obj:`x` into :obj:`dim_size` segments.

        Args:
            x (torch.Tensor): The elements :math:`(N, F_{in})`.
            index (torch.Tensor, optional): The segment of every element,
                in any order. (default: :obj:`None`)
            ptr (torch.Tensor, optional): Sorted segment boundaries, used
                when :obj:`index` is not given. With neither, all elements
                form one segment. (default: :obj:`None`)
            dim_size (int, optional): The number of segments (filled in by
                :class:`~torch_geometric.nn.aggr.Aggregation` from
                :obj:`index` or :obj:`ptr` if not given).
                (default: :obj:`None`)
            dim (int, optional): Must be :obj:`-2` or :obj:`0`.
                (default: :obj:`-2`)
            return_attention_weights (bool, optional): If set to
                :obj:`True`, also returns :math:`\alpha` of every element.
                (default: :obj:`None`)

        Returns:
            The segments :math:`(S, F_{in})`, or the pair
            :obj:`(segments, alpha)` with :obj:`return_attention_weights`.
        """
        who = self.__class__.__name__
        check_node_features(who, x, '(num_elements, in_channels)',
                            channels=input_channels(self.lin))
        if dim not in (-2, 0):
            raise ValueError(f"'{who}' pools along 'dim' -2 or 0 (got "
                             f"{dim})")
        if index is None:
            index = segment_index(ptr, x.size(0))
        elif index.shape != (x.size(0), ) or index.is_floating_point():
            raise ValueError(f"'{who}' expects 'index' to be an integer "
                             f"tensor of shape ({x.size(0)},), one segment "
                             f"per element (got {index.dtype} "
                             f"{tuple(index.shape)})")
        assert dim_size is not None  # filled in by Aggregation.__call__
        _check_segments(who, index, dim_size)

        u = torch.tanh(self.lin(x))
        score = u @ self.context.to(u.dtype)
        if score.dtype in _LOW_PRECISION:
            score = score.float()
        # Softmax within each segment, shifted by the segment's maximum:
        peak = scatter(score.detach(), index, dim_size, 'max')
        e = (score - peak.index_select(0, index)).exp()
        total = scatter(e, index, dim_size, 'sum')
        alpha = e / total.index_select(0, index)  # total >= 1: exp(0)
        out = scatter(alpha.to(x.dtype).unsqueeze(-1) * x, index, dim_size,
                      'sum')
        if return_attention_weights:
            return out, alpha
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.att_channels})')


@torch.compiler.disable
def _check_segments(who: str, index: Tensor, dim_size: int) -> None:
    # Checked before any kernel: an index outside [0, dim_size) would make
    # torch-scatter's CPU kernels read and write out of bounds (or abort the
    # process) instead of raising. One host synchronisation, run eagerly
    # under torch.compile.
    if index.numel() == 0:
        return
    low, high = (int(v) for v in torch.aminmax(index))
    if low < 0 or high >= dim_size:
        raise ValueError(f"'{who}' got the segment index "
                         f"{low if low < 0 else high} outside [0, {dim_size})"
                         f" (invalid 'dim_size' or 'index')")
