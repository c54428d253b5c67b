import math
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.nn import Linear
from torch_geometric.nn.dense.linear import is_uninitialized_parameter

from ..utils import scatter
from ._checks import (check_batch, check_channels, check_node_features,
                      check_state, input_channels)
from .spatial_graph_conv import SpatialGraphConv, SubsetGraph


class _JointAttention(torch.nn.Module):
    # f_att of AGC-LSTM: one scalar in (0, 1) per joint and frame.
    def __init__(self, channels: int, att_channels: int):
        super().__init__()
        self.lin_query = Linear(channels, channels, bias=False)     # W
        self.lin_h = Linear(channels, att_channels, bias=True)      # W_h, b_s
        self.lin_q = Linear(channels, att_channels, bias=False)     # W_q
        self.lin_score = Linear(att_channels, 1, bias=True)         # U_s, b_u

    def reset_parameters(self):
        for lin in (self.lin_query, self.lin_h, self.lin_q, self.lin_score):
            lin.reset_parameters()

    def forward(self, h_hat: Tensor, batch: Optional[Tensor],
                num_graphs: int) -> Tensor:
        if batch is None:
            total = h_hat.sum(dim=0, keepdim=True)
        else:
            total = scatter(h_hat, batch, num_graphs)
        q = self.lin_q(torch.relu(self.lin_query(total)))
        if batch is not None:
            q = q.index_select(0, batch)
        s = torch.tanh(self.lin_h(h_hat) + q)
        return torch.sigmoid(self.lin_score(s)).squeeze(-1)


class AGCLSTMCell(torch.nn.Module):
    r"""One step of the attention enhanced graph convolutional LSTM from the
    `"An Attention Enhanced Graph Convolutional LSTM Network for
    Skeleton-Based Action Recognition" <https://arxiv.org/abs/1902.09130>`_
    paper (Si et al., CVPR 2019), eq. (1)-(2):

    .. math::
        \mathbf{i}_t &= \sigma(\mathbf{W}_{xi} *\mathcal{G} \mathbf{X}_t +
        \mathbf{W}_{hi} *\mathcal{G} \mathbf{H}_{t-1} + \mathbf{b}_i)
        \quad \text{(likewise } \mathbf{f}_t, \mathbf{o}_t)

        \mathbf{u}_t &= \tanh(\mathbf{W}_{xc} *\mathcal{G} \mathbf{X}_t +
        \mathbf{W}_{hc} *\mathcal{G} \mathbf{H}_{t-1} + \mathbf{b}_c)

        \mathbf{C}_t &= \mathbf{f}_t \odot \mathbf{C}_{t-1} +
        \mathbf{i}_t \odot \mathbf{u}_t, \qquad
        \widehat{\mathbf{H}}_t = \mathbf{o}_t \odot \tanh(\mathbf{C}_t)

        \mathbf{q}_t &= \mathrm{ReLU}\Big(\sum_{i} \mathbf{W}
        \widehat{\mathbf{H}}_{ti}\Big), \qquad
        \alpha_{ti} = \sigma\big(\mathbf{U}_s \tanh(\mathbf{W}_h
        \widehat{\mathbf{H}}_{ti} + \mathbf{W}_q \mathbf{q}_t +
        \mathbf{b}_s) + b_u\big)

        \mathbf{H}_{ti} &= f_{\mathrm{att}}(\widehat{\mathbf{H}}_t)_i +
        \widehat{\mathbf{H}}_{ti} = (1 + \alpha_{ti})
        \widehat{\mathbf{H}}_{ti}

    where :math:`*\mathcal{G}` is the :class:`SpatialGraphConv` of ST-GCN
    (root, centripetal and centrifugal subsets, one weight each), the query
    :math:`\mathbf{q}_t` sums over the joints of each sample (:obj:`batch`),
    and :math:`\alpha_{ti} \in (0, 1)` is the attention of joint :math:`i`.
    The four gates share one convolution of each side (:obj:`conv_x`,
    :obj:`conv_h`, :math:`4 F_{out}` wide, gate order :math:`i, f, o, u`);
    the bias lives in :obj:`conv_x`. A missing state is zero.

    **Initialisation.** The weight blocks :math:`\mathbf{W}_k` of both
    convolutions are drawn from :math:`\mathcal{U}(-b, b)` with
    :math:`\mathrm{Var}(w) = b^2 / 3 = g^2 / F` (:math:`F` the channels of
    the side, :math:`g` = :obj:`init_gain`). LeCun's rule would be
    :math:`1 / F` for one block, but a signal that is smooth over the
    skeleton reaches each of the three subsets with about a third of the
    neighbourhood's weight (:math:`\sum_k (|\mathcal{N}_k(i)| /
    |\mathcal{N}(i)|)^2 \approx 1/3`); the default :math:`g = 2` makes up
    for that and leaves the gates' pre-activations with about :math:`4/3`
    of the input's variance, where PyTorch's default
    :class:`~torch.nn.Linear` initialisation gives
    :math:`\mathrm{Var}(w) = 1 / (9 F)` over the :math:`3 F`-wide subset
    input. :obj:`init_gain=None` keeps that default. (The measurements behind
    this choice are in ``examples/README.md``, "Initialisation".)

    Args:
        in_channels (int): Size of each input sample, or :obj:`-1` to derive
            the size from the first input(s) to the forward method.
        out_channels (int): Size of the hidden and cell states.
        att_channels (int, optional): Size of the attention's hidden layer
            (the rows of :math:`\mathbf{W}_h, \mathbf{W}_q`).
            (default: :obj:`out_channels`)
        bias (bool, optional): If set to :obj:`False`, the gates will not
            learn the biases :math:`\mathbf{b}`. (default: :obj:`True`)
        init_gain (float, optional): The gain :math:`g` of the gate weights'
            initialisation (see above), or :obj:`None` for PyTorch's default.
            (default: :obj:`2.0`)

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F_{in})`,
          edge indices :math:`(2, |\mathcal{E}|)`, subset labels
          :math:`(|\mathcal{E}|,)`, batch vector :math:`(|\mathcal{V}|)`
          *(optional)*, state :math:`((|\mathcal{V}|, F_{out}),
          (|\mathcal{V}|, F_{out}))` *(optional)*
        - **output:** :math:`\mathbf{H}_t` :math:`(|\mathcal{V}|, F_{out})`,
          :math:`\mathbf{C}_t` :math:`(|\mathcal{V}|, F_{out})`, attention
          :math:`(|\mathcal{V}|)`
    """
    def __init__(self, in_channels: int, out_channels: int,
                 att_channels: Optional[int] = None, bias: bool = True,
                 init_gain: Optional[float] = 2.0):
        super().__init__()
        check_channels(self.__class__.__name__, in_channels=in_channels,
                       out_channels=out_channels)
        if att_channels is not None:
            check_channels(self.__class__.__name__,
                           att_channels=att_channels)
        if init_gain is not None and not init_gain > 0:
            raise ValueError(f"'{self.__class__.__name__}' expects "
                             f"'init_gain' to be positive or None (got "
                             f"{init_gain})")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.att_channels = att_channels or out_channels
        self.bias = bias
        self.init_gain = init_gain
        self.conv_x = SpatialGraphConv(in_channels, 4 * out_channels,
                                       bias=bias)
        self.conv_h = SpatialGraphConv(out_channels, 4 * out_channels,
                                       bias=False)
        self.att = _JointAttention(out_channels, self.att_channels)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        self.conv_x.reset_parameters()
        self.conv_h.reset_parameters()
        self.att.reset_parameters()
        for conv in (self.conv_x, self.conv_h):
            self._init_gate_weight(conv)

    @torch.no_grad()
    def _init_gate_weight(self, conv: SpatialGraphConv) -> None:
        # U(-b, b) with Var(w) = g^2 / F (see the class description); a lazy
        # weight is initialised when it is materialised (_materialize).
        weight = conv.lin.weight
        if self.init_gain is None or is_uninitialized_parameter(weight):
            return
        bound = self.init_gain * math.sqrt(3.0 * 3.0 / weight.size(1))
        weight.uniform_(-bound, bound)

    def _in_channels(self) -> Optional[int]:
        # F_in, once known (conv_x reads the 3 subsets side by side).
        fan_in = input_channels(self.conv_x.lin)
        return None if fan_in is None else fan_in // 3

    def _materialize(self, a: Tensor) -> None:
        # Materialises a lazy conv_x from its aggregated input a (*, 3 F) and
        # initialises it as the class description says.
        lin = self.conv_x.lin
        if is_uninitialized_parameter(lin.weight):
            lin.initialize_parameters(lin, (a, ))
            self._init_gate_weight(self.conv_x)

    def forward(self, x: Tensor, edge_index: Tensor, partition: Tensor,
                batch: Optional[Tensor] = None,
                state: Optional[Tuple[Tensor, Tensor]] = None,
                ) -> Tuple[Tensor, Tensor, Tensor]:
        r"""Runs one time step.

        Args:
            x (torch.Tensor): Joint features :math:`\mathbf{X}_t`.
            edge_index (torch.Tensor): The bones, both directions.
            partition (torch.Tensor): The subset label of every edge
                (:func:`skeleton_partition`).
            batch (torch.Tensor, optional): The sample of every joint
                (default: all joints form one sample).
            state ((torch.Tensor, torch.Tensor), optional):
                :math:`(\mathbf{H}_{t-1}, \mathbf{C}_{t-1})`
                (default: zeros).

        Returns:
            :obj:`(h, c, alpha)`: :math:`\mathbf{H}_t`, :math:`\mathbf{C}_t`
            and the attention :math:`\alpha_t` of every joint.
        """
        who = self.__class__.__name__
        check_node_features(who, x, channels=self._in_channels())
        n = x.size(0)
        graph, num_graphs, state = self._structure(who, x, edge_index,
                                                   partition, batch, state)
        a = self.conv_x.aggregate_subsets(x, graph).view(n, 3 * x.size(1))
        self._materialize(a)
        xg = self.conv_x.lin(a)
        return self._step(xg, graph, batch, num_graphs, state)

    @torch.compiler.disable
    def _structure(self, who: str, x: Tensor, edge_index: Tensor,
                   partition: Tensor, batch: Optional[Tensor], state):
        # The checked subset graph, number of samples and state:
        # data-dependent work, run eagerly under torch.compile.
        n = x.size(0)
        graph = self.conv_x.subset_graph(edge_index, partition, n, x.dtype,
                                         who)
        num_graphs = check_batch(who, batch, n)
        state = check_state(who, state, (n, self.out_channels))
        return graph, num_graphs, state

    def _step(self, xg: Tensor, graph: SubsetGraph, batch: Optional[Tensor],
              num_graphs: int, state: Optional[Tuple[Tensor, Tensor]]
              ) -> Tuple[Tensor, Tensor, Tensor]:
        # One step from the hoisted input side xg = W_x *G X_t + b.
        d = self.out_channels
        if state is None:
            gates, c = xg, None
        else:
            h, c = state
            a = self.conv_h.aggregate_subsets(h, graph)
            a = a.view(h.size(0), 3 * h.size(1))
            gates = torch.addmm(xg, a, self.conv_h.lin.weight.t())
        ifo = torch.sigmoid(gates[:, :3 * d])
        i, f, o = ifo.chunk(3, dim=1)
        u = torch.tanh(gates[:, 3 * d:])
        c = i * u if c is None else torch.addcmul(i * u, f, c)
        h_hat = o * torch.tanh(c)
        alpha = self.att(h_hat, batch, num_graphs)
        h = h_hat * (1 + alpha).unsqueeze(-1)
        return h, c, alpha

    def __repr__(self) -> str:
        extra = ''
        if self.att_channels != self.out_channels:
            extra += f', att_channels={self.att_channels}'
        if not self.bias:
            extra += ', bias=False'
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}{extra})')
