import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import Linear
from torch_geometric.nn.dense.linear import is_uninitialized_parameter

from .._checks import (check_batch, check_channels, check_node_features,
                       input_channels)
from ...utils import scatter
from ..agc_lstm import AGCLSTM


class AGCLSTMNet(torch.nn.Module):
    r"""The skeleton action recognition network of the `"An Attention
    Enhanced Graph Convolutional LSTM Network for Skeleton-Based Action
    Recognition" <https://arxiv.org/abs/1902.09130>`_ paper (Si et al.,
    CVPR 2019), built from :class:`tgr.nn.AGCLSTM` layers.

    1. **Feature augmentation:** a linear layer on the joint positions
       :math:`\mathbf{x}_{ti}` and one on the frame differences
       :math:`\mathbf{x}_{ti} - \mathbf{x}_{t-1,i}` (zero at :math:`t = 1`),
       concatenated, then a :class:`torch.nn.LSTM` over time per joint (the
       joints are its batch). Positions and differences are first divided
       by a running estimate of their root mean square, one number per
       stream shared by the coordinates (so the geometry is kept; not in
       the AGC-LSTM paper, in the spirit of ST-GCN's input BatchNorm): frame
       differences are about ten times smaller than positions, and the
       coordinates' unit (metres, millimetres, pixels) then does not matter.
       The estimate is an exponential average over training batches
       (momentum 0.1), used as it is at evaluation.
       :obj:`input_norm=False` leaves it out.
    2. **Temporal hierarchy:** :obj:`num_layers` AGC-LSTM layers with a
       temporal average pooling (window and stride :obj:`pool_size`, trailing
       frames that do not fill a window are dropped) between two layers, so
       the :math:`j`-th layer runs over
       :math:`T_j = \lfloor T / k^{j-1} \rfloor` steps.
    3. **Prediction at every step** of the last layer from the sum of all
       joints' features (global) and of the attention-weighted joints'
       features (local), per sample:

       .. math::
           \mathbf{F}^g_t = \sum_i \mathbf{H}_{ti}, \qquad
           \mathbf{F}^l_t = \sum_i \alpha_{ti} \mathbf{H}_{ti}, \qquad
           \mathbf{o}_t = \mathbf{W}_g \mathbf{F}^g_t + \mathbf{b}_g +
           \mathbf{W}_l \mathbf{F}^l_t + \mathbf{b}_l.

    :meth:`loss` is the paper's objective: cross entropy summed over all
    steps of the last layer, plus two attention regularisers summed over all
    AGC-LSTM layers :math:`j` (with :math:`N` the joints of a sample),

    .. math::
        \mathcal{L} = -\sum_{t=1}^{T_L} \log \hat{y}_{t,y} +
        \lambda \sum_{j=1}^{L} \sum_{n=1}^{N} \Big(1 - \frac{1}{T_j}
        \sum_{t=1}^{T_j} \alpha_{tnj}\Big)^2 +
        \beta \sum_{j=1}^{L} \frac{1}{T_j} \sum_{t=1}^{T_j}
        \Big(\sum_{n=1}^{N} \alpha_{tnj}\Big)^2,

    averaged over the samples of the batch; the first regulariser asks for
    equal attention to all joints over time, the second limits the number
    of joints attended to at once. Gradients flow through all terms.
    At test time, :meth:`predict` averages the class probabilities of all
    steps (or takes the last step's).

    Args:
        in_channels (int): Size of each joint's input (e.g. 3 for
            coordinates), or :obj:`-1` to derive it from the first input.
        num_classes (int): The number of action classes.
        hidden_channels (int, optional): Width of the LSTM and AGC-LSTM
            layers; each of the two feature-augmentation layers has half of
            it. (default: :obj:`128`)
        num_layers (int, optional): The number of AGC-LSTM layers
            :math:`L`. (default: :obj:`3`)
        pool_size (int, optional): Window (and stride) :math:`k` of the
            temporal average pooling. (default: :obj:`2`)
        att_channels (int, optional): Size of the attention's hidden layer.
            (default: :obj:`hidden_channels`)
        dropout (float, optional): Dropout probability on the input of every
            AGC-LSTM layer and of the classifier. (default: :obj:`0.0`)
        lam (float, optional): :math:`\lambda` of :meth:`loss`.
            (default: :obj:`0.01`)
        beta (float, optional): :math:`\beta` of :meth:`loss`.
            (default: :obj:`0.001`)
        input_norm (bool, optional): If set to :obj:`False`, positions and
            frame differences are not rescaled.
            (default: :obj:`True`)
        init_gain (float, optional): The gain :math:`g` of the
            initialisation of the AGC-LSTM gate weights (see
            :class:`tgr.nn.AGCLSTMCell`); the two feature-augmentation layers
            and the LSTM's input weights get :math:`\mathrm{Var}(w) = g^2 /
            (3 F_{in})` (no subsets to make up for). :obj:`None` keeps
            PyTorch's defaults (see ``examples/README.md``,
            "Initialisation", for what each gives). (default: :obj:`2.0`)

    Shapes:
        - **input:** joint coordinates :math:`(|\mathcal{V}|, T, F_{in})`,
          edge indices :math:`(2, |\mathcal{E}|)`, subset labels
          :math:`(|\mathcal{E}|,)` (:func:`tgr.nn.skeleton_partition`),
          batch vector :math:`(|\mathcal{V}|)` *(optional)*
        - **output:** logits :math:`(B, T_L, \text{num\_classes})` and the
          attention of every layer, :math:`[(|\mathcal{V}|, T_j)]_{j=1}^{L}`
    """
    def __init__(self, in_channels: int, num_classes: int,
                 hidden_channels: int = 128, num_layers: int = 3,
                 pool_size: int = 2, att_channels: Optional[int] = None,
                 dropout: float = 0.0, lam: float = 0.01,
                 beta: float = 0.001, input_norm: bool = True,
                 init_gain: Optional[float] = 2.0):
        super().__init__()
        who = self.__class__.__name__
        check_channels(who, low={'hidden_channels': 2},
                       in_channels=in_channels, num_classes=num_classes,
                       hidden_channels=hidden_channels, num_layers=num_layers,
                       pool_size=pool_size)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.pool_size = pool_size
        self.dropout = dropout
        self.lam = lam
        self.beta = beta
        self.init_gain = init_gain
        self.input_norm = input_norm
        self.norm = _RunningScale(2) if input_norm else None
        half = hidden_channels // 2
        self.lin_pos = Linear(in_channels, half)
        self.lin_diff = Linear(in_channels, hidden_channels - half)
        self.lstm = torch.nn.LSTM(hidden_channels, hidden_channels,
                                  batch_first=True)
        self.convs = torch.nn.ModuleList([
            AGCLSTM(hidden_channels, hidden_channels, att_channels,
                    init_gain=init_gain) for _ in range(num_layers)
        ])
        self.lin_global = Linear(hidden_channels, num_classes)
        self.lin_local = Linear(hidden_channels, num_classes)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        if self.norm is not None:
            self.norm.reset_parameters()
        self.lin_pos.reset_parameters()
        self.lin_diff.reset_parameters()
        self.lstm.reset_parameters()
        for conv in self.convs:
            conv.reset_parameters()
        self.lin_global.reset_parameters()
        self.lin_local.reset_parameters()
        for weight in (self.lin_pos.weight, self.lin_diff.weight,
                       self.lstm.weight_ih_l0):
            self._init_input_weight(weight)

    @torch.no_grad()
    def _init_input_weight(self, weight: Tensor) -> None:
        # U(-b, b) with Var(w) = g^2 / (3 F_in); lazy weights are
        # initialised when they are materialised (forward).
        if self.init_gain is None or is_uninitialized_parameter(weight):
            return
        bound = self.init_gain / math.sqrt(weight.size(1))
        weight.uniform_(-bound, bound)

    def min_frames(self) -> int:
        r"""The fewest frames an input needs (one step in the last
        layer)."""
        return self.pool_size**(self.num_layers - 1)

    def forward(self, x: Tensor, edge_index: Tensor, partition: Tensor,
                batch: Optional[Tensor] = None,
                ) -> Tuple[Tensor, List[Tensor]]:
        r"""Computes the class scores of every step of the last layer.

        Args:
            x (torch.Tensor): Joint coordinates :math:`(|\mathcal{V}|, T,
                F_{in})`.
            edge_index (torch.Tensor): The bones, both directions.
            partition (torch.Tensor): The subset label of every edge
                (:func:`tgr.nn.skeleton_partition`).
            batch (torch.Tensor, optional): The sample of every joint
                (default: one sample).

        Returns:
            :obj:`(logits, alphas)`: logits :math:`(B, T_L,
            \text{num\_classes})` and the list of the attentions
            :math:`(|\mathcal{V}|, T_j)` of the :math:`L` layers (pass both
            to :meth:`loss`).
        """
        self.check_input(x)
        return self.classify(self.encode(x), edge_index, partition, batch)

    def check_input(self, x: Tensor, who: Optional[str] = None) -> None:
        r"""Checks joint coordinates :math:`(|\mathcal{V}|, T, F_{in})` for
        :meth:`forward` (at least :meth:`min_frames` frames); :obj:`who`
        names the caller in errors."""
        who = who or self.__class__.__name__
        check_node_features(who, x, '(num_nodes, num_frames, in_channels)',
                            dims=(3, ), channels=input_channels(self.lin_pos))
        if x.size(1) < self.min_frames():
            raise ValueError(f"'{who}' expects at least {self.min_frames()} "
                             f"frames for {self.num_layers} layers with "
                             f"pool_size={self.pool_size} (got {x.size(1)})")

    def encode(self, x: Tensor) -> Tensor:
        r"""Step 1 of the class description, the feature augmentation and
        the LSTM, per joint: :math:`(|\mathcal{V}|, T, F_{in}) \to
        (|\mathcal{V}|, T, \text{hidden\_channels})` (no input checks; see
        :meth:`check_input`)."""
        diff = x - torch.cat([x[:, :1], x[:, :-1]], dim=1)
        if self.norm is not None:
            x, diff = self.norm(torch.stack([x, diff])).unbind(0)
        for lin in (self.lin_pos, self.lin_diff):
            if is_uninitialized_parameter(lin.weight):
                lin.initialize_parameters(lin, (x, ))
                self._init_input_weight(lin.weight)
        h = torch.cat([self.lin_pos(x), self.lin_diff(diff)], dim=-1)
        return self.lstm(h)[0]

    def classify(self, h: Tensor, edge_index: Tensor, partition: Tensor,
                 batch: Optional[Tensor] = None,
                 ) -> Tuple[Tensor, List[Tensor]]:
        r"""Steps 2 and 3 of the class description: the AGC-LSTM layers on
        the graph :obj:`edge_index` (with the subset labels
        :obj:`partition`) from node features :obj:`h` :math:`(|\mathcal{V}|,
        T, \text{hidden\_channels})`, and the prediction at every step;
        returns :obj:`(logits, alphas)` as :meth:`forward`. The nodes need not
        be the joints that :meth:`encode` saw: the part stream of
        :class:`AGCLSTMJointPartNet` pools them into body parts first."""
        num_graphs = check_batch(self.__class__.__name__, batch, h.size(0))
        alphas: List[Tensor] = []
        for j, conv in enumerate(self.convs):
            if j > 0:
                h = self._pool(h)
            h = F.dropout(h, p=self.dropout, training=self.training)
            h, alpha, _ = conv(h, edge_index, partition, batch)
            alphas.append(alpha)
        f_local = h * alphas[-1].unsqueeze(-1)
        if batch is None:
            f_global, f_local = h.sum(0, keepdim=True), \
                f_local.sum(0, keepdim=True)
        else:
            f_global = scatter(h, batch, num_graphs)
            f_local = scatter(f_local, batch, num_graphs)
        f_global = F.dropout(f_global, p=self.dropout, training=self.training)
        f_local = F.dropout(f_local, p=self.dropout, training=self.training)
        return self.lin_global(f_global) + self.lin_local(f_local), alphas

    def _pool(self, h: Tensor) -> Tensor:
        k = self.pool_size
        T = h.size(1) // k
        return h[:, :T * k].reshape(h.size(0), T, k, h.size(2)).mean(dim=2)

    def loss(self, logits: Tensor, alphas: List[Tensor], y: Tensor,
             batch: Optional[Tensor] = None, lam: Optional[float] = None,
             beta: Optional[float] = None) -> Tensor:
        r"""The paper's training objective (see the class description),
        averaged over the samples.

        Args:
            logits (torch.Tensor): :math:`(B, T_L, \text{num\_classes})` from
                :meth:`forward`.
            alphas (list of torch.Tensor): The attentions from
                :meth:`forward`.
            y (torch.Tensor): The class of every sample, :math:`(B,)`.
            batch (torch.Tensor, optional): The sample of every joint, as
                given to :meth:`forward`.
            lam (float, optional): Overrides :obj:`self.lam`.
            beta (float, optional): Overrides :obj:`self.beta`.
        """
        who = self.__class__.__name__
        lam = self.lam if lam is None else lam
        beta = self.beta if beta is None else beta
        if logits.dim() != 3:
            raise ValueError(f"'{who}' expects 'logits' of shape (B, T, "
                             f"num_classes) (got {tuple(logits.shape)})")
        B, T, K = logits.shape
        if y.shape != (B, ):
            raise ValueError(f"'{who}' expects 'y' of shape ({B},), one "
                             f"class per sample (got {tuple(y.shape)})")
        if len(alphas) == 0 or alphas[-1].size(1) != T:
            got = alphas[-1].size(1) if len(alphas) else None
            raise ValueError(f"'{who}' expects the last attention to cover "
                             f"the T={T} steps of 'logits' (got {got})")
        ce = F.cross_entropy(logits.transpose(1, 2),
                             y.view(B, 1).expand(B, T), reduction='sum') / B
        balance = logits.new_zeros(())
        sparsity = logits.new_zeros(())
        for alpha in alphas:
            n = alpha.size(0)
            if check_batch(who, batch, n) != B:
                raise ValueError(f"'{who}' expects 'batch' with {B} samples, "
                                 f"as many as 'logits' has rows")
            balance = balance + ((1 - alpha.mean(dim=1))**2).sum() / B
            total = alpha.sum(0, keepdim=True) if batch is None else \
                scatter(alpha, batch, B)  # (B, T_j): attention per frame
            sparsity = sparsity + (total**2).mean(dim=1).sum() / B
        return ce + lam * balance + beta * sparsity

    @staticmethod
    def predict(logits: Tensor, mode: str = 'mean') -> Tensor:
        r"""Class probabilities :math:`(B, \text{num\_classes})` from the
        per-step logits: the mean over all steps of the per-step softmax
        (:obj:`mode="mean"`, the default) or the last step's
        (:obj:`mode="last"`)."""
        if mode == 'mean':
            return logits.softmax(dim=-1).mean(dim=1)
        if mode == 'last':
            return logits[:, -1].softmax(dim=-1)
        raise ValueError(f"'AGCLSTMNet' expects mode 'mean' or 'last' (got "
                         f"'{mode}')")

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.num_classes}, hidden_channels={self.hidden_channels}, '
                f'num_layers={self.num_layers}, pool_size={self.pool_size})')


class _RunningScale(torch.nn.Module):
    # Divides each of several input streams (dim 0) by a running estimate of
    # its root mean square over all its entries, one number per stream, so
    # that the geometry of the coordinates is kept. In training the estimate
    # is updated with the batch first (exponential average with weight
    # 'momentum' for the batch, the first batch taken as it is) and then
    # used, so that the scale a sample sees depends on the other samples of
    # its batch far less than under BatchNorm (whose batch statistics move
    # with the mix of fast and slow actions in a batch).
    def __init__(self, num_streams: int, momentum: float = 0.1,
                 eps: float = 1e-12):
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        self.register_buffer('mean_square', torch.ones(num_streams))
        self.register_buffer('num_batches_tracked',
                             torch.zeros((), dtype=torch.long))

    def reset_parameters(self):
        self.mean_square.fill_(1.0)
        self.num_batches_tracked.zero_()

    def forward(self, x: Tensor) -> Tensor:
        if self.training and x.numel() > 0:
            with torch.no_grad():  # no host synchronisation
                ms = x.detach().pow(2).flatten(1).mean(1).to(
                    self.mean_square.dtype)
                first = self.num_batches_tracked == 0
                self.mean_square.copy_(torch.where(
                    first, ms, self.mean_square.lerp(ms, self.momentum)))
                self.num_batches_tracked.add_(1)
        scale = (self.mean_square + self.eps).rsqrt().to(x.dtype)
        return x * scale.view((-1, ) + (1, ) * (x.dim() - 1))
