from torch_geometric.data import Data
from torch_geometric.data.datapipes import functional_transform
from torch_geometric.transforms import BaseTransform

from ..schedule import (parent_sibling_dependencies, sibling_order,
                        topological_levels)


@functional_transform('add_sibling_order')
class AddSiblingOrder(BaseTransform):
    r"""Links every child of a reply forest (edges parent :math:`\to` child)
    to its next sibling, and stores the levels of both directions of a
    parent + sibling recurrence, so that
    :class:`tgr.nn.GraphStructuredLSTM` need not recompute them
    (functional name: :obj:`add_sibling_order`).

    Stores :obj:`data.sibling_index` (:math:`(2, S)`, previous :math:`\to`
    next sibling; shifted by :class:`~torch_geometric.data.Batch` like
    :obj:`edge_index`), :obj:`data.level` (forward: parent and previous
    sibling first) and :obj:`data.rev_level` (backward: first child and next
    sibling first). Siblings are ordered by :obj:`data[time_attr]`, ties by
    node index.

    Args:
        time_attr (str, optional): The node attribute holding times, or
            :obj:`None` to order siblings by node index. (default:
            :obj:`"time"`)
    """
    def __init__(self, time_attr: str = 'time'):
        self.time_attr = time_attr

    def forward(self, data: Data) -> Data:
        who = self.__class__.__name__
        n = data.num_nodes
        time = data[self.time_attr] if self.time_attr is not None and \
            self.time_attr in data else None
        sib = sibling_order(data.edge_index, n, time, who=who)
        data.sibling_index = sib
        for attr, reverse in (('level', False), ('rev_level', True)):
            dep, _ = parent_sibling_dependencies(data.edge_index, sib, n,
                                                 reverse=reverse)
            data[attr] = topological_levels(dep, n, who=who)
        return data

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(time_attr={self.time_attr!r})'
