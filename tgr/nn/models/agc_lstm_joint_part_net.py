from typing import List, Optional, Tuple, Union

import torch
from torch import Tensor

from .._checks import check_batch, check_labels
from ...schedule import check_edge_index
from ...utils import scatter
from ...utils.skeleton import skeleton_partition
from .agc_lstm_net import AGCLSTMNet

#: What :meth:`AGCLSTMJointPartNet.forward` returns: the
#: :obj:`(logits, alphas)` of the joint stream and of the part stream.
StreamOutputs = Tuple[Tuple[Tensor, List[Tensor]], Tuple[Tensor, List[Tensor]]]


class AGCLSTMJointPartNet(torch.nn.Module):
    r"""AGC-LSTM (Joint & Part) from the `"An Attention Enhanced Graph
    Convolutional LSTM Network for Skeleton-Based Action Recognition"
    <https://arxiv.org/abs/1902.09130>`_ paper (Si et al., CVPR 2019): two
    :class:`AGCLSTMNet` streams, one on the graph of the joints and one on
    the graph of the body parts, whose class scores are fused.

    - **Joint stream:** an :class:`AGCLSTMNet` on the joints and bones.
    - **Part stream:** an :class:`AGCLSTMNet` whose feature augmentation and
      LSTM run per joint (:meth:`AGCLSTMNet.encode`); the joint features of
      every frame are then averaged over the joints of each body part,

      .. math::
          \mathbf{P}_{tp} = \frac{1}{|\mathcal{J}_p|}
          \sum_{i \in \mathcal{J}_p} \mathbf{H}_{ti},
          \qquad \text{i.e.} \qquad
          \mathbf{P}_t = \mathbf{D}^{-1} \mathbf{C} \mathbf{H}_t

      with :math:`\mathbf{C}_{pi} = [i \in \mathcal{J}_p]` the assignment of
      the joints to the parts and :math:`\mathbf{D} = \mathrm{diag}(\mathbf{C}
      \mathbf{1})`, and its AGC-LSTM layers and classifier run on the part
      graph (:obj:`part_edge_index`: parts joined by a bone, see
      :func:`tgr.utils.skeleton.part_graph`) with ST-GCN's spatial
      partitioning measured from the centre part (:obj:`part_center`, e.g.
      the torso).
    - **Fusion:** :meth:`predict` returns :math:`w\, \mathbf{p}_{\text{joint}}
      + (1 - w)\, \mathbf{p}_{\text{part}}`, the class probabilities of the
      two streams (each the mean over the steps of the last layer of the
      per-step softmax) weighted by :obj:`fusion_weight` :math:`w`.

    :meth:`loss` is the sum of the two streams' :meth:`AGCLSTMNet.loss`: the
    streams share no parameters, so each learns as it would alone.

    The part graph is given once, for the :math:`P` parts of one sample (two
    bodies in a sample are :math:`2 P_{\text{body}}` parts), and repeated for
    every sample of a batch; :meth:`forward` takes the part of every joint
    within its sample. The grouping of joints into parts is the caller's:
    :data:`tgr.datasets.skeleton.FINE_PART_NAMES` gives ten parts,
    :data:`~tgr.datasets.skeleton.PART_NAMES` five.

    Only the paper's abstract could be consulted when this was written; the
    two-stream structure (joints pooled into body parts, AGC-LSTM layers over
    the part graph, the streams' scores fused) follows the paper's
    description of AGC-LSTM (Joint & Part) as quoted in the project's notes,
    and the details — mean pooling after the LSTM, parts joined where a bone
    joins them, averaged probabilities, the losses summed — are choices of
    this implementation, not checked against the paper.

    Args:
        in_channels (int): Size of each joint's input (e.g. 3 for
            coordinates), or :obj:`-1` to derive it from the first input.
        num_classes (int): The number of action classes.
        part_edge_index (torch.Tensor): The part graph of one sample,
            :math:`(2, |\mathcal{E}_{\text{part}}|)`, both directions, no
            self-loops.
        part_center (int or torch.Tensor): The centre part (an index), or a
            :obj:`bool` mask over the :math:`P` parts (one centre per body).
        num_parts (int, optional): The number :math:`P` of parts per sample
            (default: the size of a mask :obj:`part_center`, else
            :obj:`part_edge_index.max() + 1`).
        hidden_channels (int, optional): Width of both streams (see
            :class:`AGCLSTMNet`). (default: :obj:`128`)
        fusion_weight (float, optional): The weight :math:`w \in [0, 1]` of
            the joint stream in :meth:`predict`. (default: :obj:`0.5`)
        **kwargs (optional): The other arguments of :class:`AGCLSTMNet`
            (:obj:`num_layers`, :obj:`pool_size`, :obj:`att_channels`,
            :obj:`dropout`, :obj:`lam`, :obj:`beta`, :obj:`input_norm`,
            :obj:`init_gain`), the same for both streams.

    Shapes:
        - **input:** joint coordinates :math:`(|\mathcal{V}|, T, F_{in})`,
          edge indices :math:`(2, |\mathcal{E}|)`, subset labels
          :math:`(|\mathcal{E}|,)`, the part of every joint within its sample
          :math:`(|\mathcal{V}|,)`, batch vector :math:`(|\mathcal{V}|)`
          *(optional)*
        - **output:** for each stream, logits :math:`(B, T_L,
          \text{num\_classes})` and the attention of every layer (over the
          joints, :math:`(|\mathcal{V}|, T_j)`, and over the parts,
          :math:`(B P, T_j)`)
    """
    def __init__(self, in_channels: int, num_classes: int,
                 part_edge_index: Tensor, part_center: Union[int, Tensor],
                 num_parts: Optional[int] = None, hidden_channels: int = 128,
                 fusion_weight: float = 0.5, **kwargs):
        super().__init__()
        who = self.__class__.__name__
        if not 0.0 <= fusion_weight <= 1.0:
            raise ValueError(f"'{who}' expects 'fusion_weight' in [0, 1] "
                             f"(got {fusion_weight})")
        if isinstance(part_center, int) and not isinstance(part_center,
                                                           bool):
            part_center = torch.tensor([part_center])
        if not isinstance(part_center, Tensor):
            raise TypeError(f"'{who}' expects 'part_center' to be an int or "
                            f"a tensor (got {type(part_center).__name__})")
        if num_parts is None:
            num_parts = part_center.numel() if part_center.dtype == \
                torch.bool else int(part_edge_index.max()) + 1 if \
                part_edge_index.numel() else int(part_center.max()) + 1
        check_edge_index(part_edge_index, num_parts, who)
        part_edge_index = part_edge_index.long()
        if part_center.dtype == torch.bool and \
                part_center.shape != (num_parts, ):
            raise ValueError(f"'{who}' expects a mask 'part_center' of shape "
                             f"({num_parts},), one value per part (got "
                             f"{tuple(part_center.shape)})")
        try:
            partition = skeleton_partition(part_edge_index, part_center,
                                           num_parts)
        except ValueError as error:  # parts joined, but not to a centre
            raise ValueError(f"'{who}' expects a part graph in which every "
                             f"part with an edge reaches a centre part "
                             f"({error})") from None
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.num_parts = num_parts
        self.hidden_channels = hidden_channels
        self.fusion_weight = fusion_weight
        self.joint = AGCLSTMNet(in_channels, num_classes, hidden_channels,
                                **kwargs)
        self.part = AGCLSTMNet(in_channels, num_classes, hidden_channels,
                               **kwargs)
        # The part graph of one sample: fixed by the constructor's arguments,
        # so not in the state dict.
        self.register_buffer('part_edge_index', part_edge_index,
                             persistent=False)
        self.register_buffer('part_partition', partition, persistent=False)

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        self.joint.reset_parameters()
        self.part.reset_parameters()

    def part_batch(self, num_graphs: int) -> Tensor:
        r"""The sample of every part node of a batch of :obj:`num_graphs`
        samples, :math:`(B P,)`."""
        return torch.arange(num_graphs, device=self.part_edge_index.device
                            ).repeat_interleave(self.num_parts)

    def part_graph(self, num_graphs: int) -> Tuple[Tensor, Tensor]:
        r"""The part graph of a batch of :obj:`num_graphs` samples (part
        :math:`p` of sample :math:`b` is node :math:`b P + p`) and its subset
        labels: :obj:`(edge_index, partition)`."""
        ei = self.part_edge_index
        offset = torch.arange(num_graphs, device=ei.device) * self.num_parts
        edge_index = (ei.unsqueeze(1) + offset.view(1, -1, 1)).reshape(2, -1)
        return edge_index, self.part_partition.repeat(num_graphs)

    def pool(self, h: Tensor, part: Tensor, batch: Optional[Tensor] = None,
             num_graphs: Optional[int] = None) -> Tensor:
        r"""Averages node features :math:`(|\mathcal{V}|, *)` over the joints
        of every part of every sample: :math:`(B P, *)`, part :math:`p` of
        sample :math:`b` in row :math:`b P + p` (a part without joints is
        zero)."""
        who = self.__class__.__name__
        if num_graphs is None:
            num_graphs = check_batch(who, batch, h.size(0))
        part = check_labels(who, 'part', part, h.size(0), self.num_parts,
                            per='joint', meaning=' (the part of every joint '
                            'within its sample)')
        cluster = part if batch is None else batch * self.num_parts + part
        size = num_graphs * self.num_parts
        total = scatter(h, cluster, size)
        count = scatter(torch.ones_like(cluster, dtype=h.dtype), cluster,
                        size).clamp(min=1)
        return total / count.view((-1, ) + (1, ) * (h.dim() - 1))

    def forward(self, x: Tensor, edge_index: Tensor, partition: Tensor,
                part: Tensor, batch: Optional[Tensor] = None) -> StreamOutputs:
        r"""Runs both streams.

        Args:
            x (torch.Tensor): Joint coordinates :math:`(|\mathcal{V}|, T,
                F_{in})`.
            edge_index (torch.Tensor): The bones, both directions.
            partition (torch.Tensor): The subset label of every bone
                (:func:`tgr.nn.skeleton_partition`).
            part (torch.Tensor): The part of every joint within its sample,
                values in :math:`[0, P)`.
            batch (torch.Tensor, optional): The sample of every joint
                (default: one sample).

        Returns:
            :obj:`((logits, alphas), (part_logits, part_alphas))`: the
            outputs of :meth:`AGCLSTMNet.forward` for the joint stream and
            for the part stream (pass them to :meth:`loss` and
            :meth:`predict`).
        """
        who = self.__class__.__name__
        self.joint.check_input(x, who)
        num_graphs = check_batch(who, batch, x.size(0))
        joint_out = self.joint.classify(self.joint.encode(x), edge_index,
                                        partition, batch)
        h = self.pool(self.part.encode(x), part, batch, num_graphs)
        part_edge_index, part_partition = self.part_graph(num_graphs)
        part_out = self.part.classify(
            h, part_edge_index, part_partition,
            None if batch is None else self.part_batch(num_graphs))
        return joint_out, part_out

    def loss(self, out: StreamOutputs, y: Tensor,
             batch: Optional[Tensor] = None, lam: Optional[float] = None,
             beta: Optional[float] = None) -> Tensor:
        r"""The sum of the two streams' :meth:`AGCLSTMNet.loss` for the
        output :obj:`out` of :meth:`forward`, the class :obj:`y` of every
        sample and the :obj:`batch` vector given to :meth:`forward`."""
        (logits, alphas), (part_logits, part_alphas) = out
        part_batch = None if batch is None else self.part_batch(y.numel())
        return (self.joint.loss(logits, alphas, y, batch, lam, beta) +
                self.part.loss(part_logits, part_alphas, y, part_batch, lam,
                               beta))

    def predict(self, out: StreamOutputs, mode: str = 'mean',
                fusion_weight: Optional[float] = None) -> Tensor:
        r"""The fused class probabilities :math:`(B, \text{num\_classes})`:
        :math:`w\, \mathbf{p}_{\text{joint}} + (1 - w)\,
        \mathbf{p}_{\text{part}}` with each stream's
        :meth:`AGCLSTMNet.predict` (:obj:`mode` :obj:`"mean"` or
        :obj:`"last"`); :obj:`fusion_weight` overrides :math:`w` (:obj:`1`:
        the joint stream alone, :obj:`0`: the part stream alone)."""
        w = self.fusion_weight if fusion_weight is None else fusion_weight
        if not 0.0 <= w <= 1.0:
            raise ValueError(f"'{self.__class__.__name__}' expects "
                             f"'fusion_weight' in [0, 1] (got {w})")
        (logits, _), (part_logits, _) = out
        return (w * AGCLSTMNet.predict(logits, mode) +
                (1 - w) * AGCLSTMNet.predict(part_logits, mode))

    def __repr__(self) -> str:
        j = self.joint
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.num_classes}, num_parts={self.num_parts}, '
                f'hidden_channels={self.hidden_channels}, '
                f'num_layers={j.num_layers}, pool_size={j.pool_size}, '
                f'fusion_weight={self.fusion_weight})')
