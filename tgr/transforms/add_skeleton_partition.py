from typing import Dict, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.data.datapipes import functional_transform
from torch_geometric.transforms import BaseTransform

from ._checks import check_attr_name
from ..utils.skeleton import skeleton_partition


@functional_transform('add_skeleton_partition')
class AddSkeletonPartition(BaseTransform):
    r"""Stores the subset label of every bone of a skeleton in
    :obj:`data[attr]`: ST-GCN's spatial configuration partitioning into root
    (:obj:`0`), centripetal (:obj:`1`) and centrifugal (:obj:`2`) neighbours
    by the hop distance to the centre joint (see
    :func:`tgr.utils.skeleton.skeleton_partition`), the :obj:`partition`
    argument of :class:`tgr.nn.SpatialGraphConv`, :class:`tgr.nn.AGCLSTM` and
    :class:`tgr.nn.models.AGCLSTMNet` (functional name:
    :obj:`add_skeleton_partition`).

    The labels are an edge-level attribute, so a
    :class:`~torch_geometric.data.Batch` concatenates them correctly. A
    sample may hold several bodies stacked body after body (joint :math:`j`
    of body :math:`b` is node :math:`b J + j`, as
    :class:`tgr.datasets.NTURGBD` stores two actors): with
    :obj:`num_joints=J` joint :obj:`center` of every body is a centre. The
    labels depend on the skeleton only and are computed once per distinct
    :obj:`edge_index` and number of nodes (and cached in the transform).

    Args:
        center (int): The centre joint within a body (ST-GCN's choice for
            NTU RGB+D is index 20, the spine at the shoulders).
        num_joints (int, optional): Joints per body, if a sample may stack
            several bodies; :obj:`None` means one body of any size.
            (default: :obj:`None`)
        attr (str, optional): The attribute to store the labels in.
            (default: :obj:`"partition"`)
    """
    def __init__(self, center: int, num_joints: Optional[int] = None,
                 attr: str = 'partition'):
        who = self.__class__.__name__
        if not isinstance(center, int) or center < 0:
            raise ValueError(f"'{who}' expects 'center' to be a non-negative "
                             f"joint index (got {center!r})")
        if num_joints is not None and (not isinstance(num_joints, int)
                                       or num_joints <= center):
            raise ValueError(f"'{who}' expects 'num_joints' to be an integer "
                             f"larger than 'center' ({center}) or None (got "
                             f"{num_joints!r})")
        check_attr_name(who, attr)
        self.center = center
        self.num_joints = num_joints
        self.attr = attr
        self._cache: Dict[Tuple[int, bytes], Tensor] = {}

    def forward(self, data: Data) -> Data:
        who = self.__class__.__name__
        n = data.num_nodes
        edge_index = data.edge_index
        if n is None or edge_index is None:
            raise ValueError(f"'{who}' expects data with 'edge_index' and a "
                             f"number of nodes")
        if self.num_joints is not None and n % self.num_joints != 0:
            raise ValueError(f"'{who}' expects a multiple of num_joints="
                             f"{self.num_joints} nodes (got {n})")
        if self.center >= n:
            raise ValueError(f"'{who}' expects the centre joint {self.center}"
                             f" to exist (the sample has {n} nodes)")
        key = (n, edge_index.detach().cpu().numpy().tobytes())
        if key not in self._cache:
            step = self.num_joints or n
            center = torch.arange(n) % step == self.center
            self._cache[key] = skeleton_partition(edge_index.cpu(), center, n)
        data[self.attr] = self._cache[key].to(edge_index.device)
        return data

    def __repr__(self) -> str:
        extra = '' if self.num_joints is None else \
            f', num_joints={self.num_joints}'
        return f'{self.__class__.__name__}(center={self.center}{extra})'
