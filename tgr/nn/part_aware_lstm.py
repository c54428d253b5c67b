import math
from typing import List, Optional, Tuple

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import Linear

from ..utils import scatter
from ._checks import (check_batch, check_channels, check_labels,
                      check_node_features, check_state)


class PartAwareLSTM(torch.nn.Module):
    r"""The Part-Aware LSTM (P-LSTM) from the `"NTU RGB+D: A Large Scale
    Dataset for 3D Human Activity Analysis"
    <https://arxiv.org/abs/1604.02808>`_ paper (Shahroudy et al., CVPR 2016):
    one memory cell per body part :math:`p = 1, \dots, P`, each with its own
    input and forget gates and modulation, and one output gate shared by all
    parts,

    .. math::
        \begin{bmatrix} \mathbf{i}^p_t \\ \mathbf{f}^p_t \\
        \mathbf{g}^p_t \end{bmatrix} &=
        \begin{bmatrix} \sigma \\ \sigma \\ \tanh \end{bmatrix}
        \left(\mathbf{W}^p \begin{bmatrix} \mathbf{x}^p_t \\
        \mathbf{h}_{t-1} \end{bmatrix} + \mathbf{b}^p\right), \qquad
        \mathbf{c}^p_t = \mathbf{f}^p_t \odot \mathbf{c}^p_{t-1} +
        \mathbf{i}^p_t \odot \mathbf{g}^p_t

        \mathbf{o}_t &= \sigma\left(\mathbf{W}_o \begin{bmatrix}
        \mathbf{x}^1_t \\ \vdots \\ \mathbf{x}^P_t \\ \mathbf{h}_{t-1}
        \end{bmatrix} + \mathbf{b}_o\right), \qquad
        \mathbf{h}_t = \mathbf{o}_t \odot \tanh \begin{bmatrix}
        \mathbf{c}^1_t \\ \vdots \\ \mathbf{c}^P_t \end{bmatrix}

    where :math:`\mathbf{x}^p_t` concatenates the features of the joints of
    part :math:`p` in frame :math:`t`. The state is one per sample (not per
    joint): :math:`\mathbf{h}_t, \mathbf{c}_t \in \mathbb{R}^{P F_{out}}`.

    A matrix applied to a concatenation is a sum of per-joint blocks,
    :math:`\mathbf{W}^p \mathbf{x}^p_t = \sum_{j \in p} \mathbf{W}^p_j
    \mathbf{x}_{tj}`. The layer stores these blocks per joint *slot*
    (:obj:`weight`, of shape :math:`(J, F_{in}, 3 F_{out} + P F_{out})`:
    joint :math:`j`'s blocks of :math:`\mathbf{W}^p` for its own part's
    :math:`\mathbf{i}, \mathbf{f}, \mathbf{g}`, then of :math:`\mathbf{W}_o`),
    projects every joint of every frame at once before the time loop, and
    sums the projections per sample and part with a scatter. Inside the loop
    only the recurrent product :math:`\mathbf{U} \mathbf{h}_{t-1}`
    (:obj:`lin_h`, all gates of all parts in one matrix) runs. The gate
    pre-activations are laid out as
    :math:`[\mathbf{i}^{1..P}, \mathbf{f}^{1..P}, \mathbf{o},
    \mathbf{g}^{1..P}]`.

    .. note::
        Joint slots: by default joint :math:`k` of a sample (its :math:`k`-th
        node in a :class:`~torch_geometric.data.Batch`) uses slot :math:`k`,
        so every sample must list its joints in the same order, with at most
        :math:`J` joints. Pass :obj:`joint` to choose the slots yourself, e.g.
        :obj:`joint % 25` to give the two bodies of an NTU RGB+D sample the
        same weights (their projections are then summed).

    Args:
        in_channels (int): Size of each joint's input features (e.g. 3 for
            coordinates).
        out_channels (int): Size of each part's cell :math:`F_{out}`; the
            hidden state has :math:`P F_{out}` channels.
        num_parts (int): The number of body parts :math:`P`.
        num_joints (int): The number of joint slots :math:`J`.
        bias (bool, optional): If set to :obj:`False`, the layer will not
            learn the biases. (default: :obj:`True`)

    Shapes:
        - **input:** joint features :math:`(|\mathcal{V}|, T, F_{in})`,
          body part of every joint :math:`(|\mathcal{V}|)`, batch vector
          :math:`(|\mathcal{V}|)` *(optional)*, joint slots
          :math:`(|\mathcal{V}|)` *(optional)*, initial state
          :math:`((B, P F_{out}), (B, P F_{out}))` *(optional)*
        - **output:** hidden states :math:`(B, T, P F_{out})` and the final
          state :math:`((B, P F_{out}), (B, P F_{out}))`
    """
    def __init__(self, in_channels: int, out_channels: int, num_parts: int,
                 num_joints: int, bias: bool = True):
        super().__init__()
        check_channels(self.__class__.__name__, lazy=(),
                       in_channels=in_channels, out_channels=out_channels,
                       num_parts=num_parts, num_joints=num_joints)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_parts = num_parts
        self.num_joints = num_joints
        ph = num_parts * out_channels
        self.weight = Parameter(
            torch.empty(num_joints, in_channels, 3 * out_channels + ph))
        self.lin_h = Linear(ph, 4 * ph, bias=False)
        if bias:
            self.bias = Parameter(torch.empty(4 * ph))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module (uniform in
        :math:`\pm 1 / \sqrt{P F_{out}}`, as :class:`torch.nn.LSTM`)."""
        bound = 1.0 / math.sqrt(self.num_parts * self.out_channels)
        torch.nn.init.uniform_(self.weight, -bound, bound)
        torch.nn.init.uniform_(self.lin_h.weight, -bound, bound)
        if self.bias is not None:
            torch.nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor, part: Tensor, batch: Optional[Tensor] = None,
                joint: Optional[Tensor] = None,
                state: Optional[Tuple[Tensor, Tensor]] = None,
                ) -> Tuple[Tensor, Tuple[Tensor, Tensor]]:
        r"""Runs the recurrence over all frames.

        Args:
            x (torch.Tensor): Joint features :math:`(|\mathcal{V}|, T,
                F_{in})` (every sample of a batch has the same :math:`T`).
            part (torch.Tensor): The body part of every joint, in
                :math:`[0, P)`.
            batch (torch.Tensor, optional): The sample of every joint, sorted
                as in a :class:`~torch_geometric.data.Batch` (default: one
                sample).
            joint (torch.Tensor, optional): The weight slot of every joint,
                in :math:`[0, J)` (default: its position in its sample).
            state ((torch.Tensor, torch.Tensor), optional): The initial
                :math:`(\mathbf{h}_0, \mathbf{c}_0)` (default: zeros).

        Returns:
            :obj:`(out, (h, c))`: the hidden states :math:`\mathbf{h}_t` of
            all frames, :math:`(B, T, P F_{out})`, and the final state.
        """
        who = self.__class__.__name__
        check_node_features(
            who, x, f'(num_nodes, num_frames, {self.in_channels})',
            dims=(3, ), channels=self.in_channels)
        n, T = x.size(0), x.size(1)
        P, d = self.num_parts, self.out_channels
        ph = P * d
        part, batch, joint, num_graphs, state = self._structure(
            who, x, part, batch, joint, state)
        if T == 0:
            if state is None:
                zero = x.new_zeros(num_graphs, ph)
                state = (zero, zero)
            return x.new_zeros(num_graphs, 0, ph), state

        # Hoisted: every joint of every frame projected with its slot's
        # weights, then summed per (sample, part) and per sample.
        z = torch.bmm(x, self.weight.index_select(0, joint))  # (N, T, D)
        zp = scatter(z[..., :3 * d], batch * P + part, num_graphs * P)
        zp = zp.view(num_graphs, P, T, 3, d).permute(2, 0, 3, 1, 4)
        zp = zp.reshape(T, num_graphs, 3 * ph)  # [i | f | g], parts inside
        zo = scatter(z[..., 3 * d:], batch, num_graphs).transpose(0, 1)
        xg = torch.cat([zp[..., :2 * ph], zo, zp[..., 2 * ph:]], dim=-1)
        if self.bias is not None:
            xg = xg + self.bias

        w_h = self.lin_h.weight.t()
        outs: List[Tensor] = []
        for xg_t in xg.unbind(0):
            if state is None:
                gates, c = xg_t, None
            else:
                h, c = state
                gates = torch.addmm(xg_t, h, w_h)
            ifo = torch.sigmoid(gates[:, :3 * ph])
            i, f, o = ifo.chunk(3, dim=1)
            g = torch.tanh(gates[:, 3 * ph:])
            c = i * g if c is None else torch.addcmul(i * g, f, c)
            h = o * torch.tanh(c)
            state = (h, c)
            outs.append(h)
        return torch.stack(outs, dim=1), state

    @torch.compiler.disable
    def _structure(self, who: str, x: Tensor, part: Tensor,
                   batch: Optional[Tensor], joint: Optional[Tensor], state):
        # Checked labels, batch, joint slots and state: data-dependent work,
        # run eagerly under torch.compile.
        n = x.size(0)
        P, d = self.num_parts, self.out_channels
        ph = P * d
        part = check_labels(who, 'part', part, n, P, per='joint')
        if batch is None:
            batch = x.new_zeros(n, dtype=torch.long)
            num_graphs = 1
        else:
            num_graphs = check_batch(who, batch, n)
            batch = batch.long()
        if joint is None:
            count = torch.bincount(batch, minlength=num_graphs)
            start = torch.cumsum(count, 0) - count
            joint = torch.arange(n, device=x.device) - start[batch]
            hint = (' (a sample with more joints than num_joints, or '
                    "'batch' not sorted; pass 'joint')")
        else:
            hint = ''
        joint = check_labels(who, 'joint', joint, n, self.num_joints,
                             per='joint', hint=hint)
        state = check_state(who, state, (num_graphs, ph),
                            ', one row per sample')
        return part, batch, joint, num_graphs, state

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, num_parts={self.num_parts}, '
                f'num_joints={self.num_joints}'
                f'{"" if self.bias is not None else ", bias=False"})')
