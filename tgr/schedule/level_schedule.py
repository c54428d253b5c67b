r"""The :class:`LevelSchedule`: nodes grouped by level and edges grouped by
the level of their target, built once per graph and reusable across layers
and epochs (a batch's schedule is rebuilt cheaply from the per-graph levels
stored by :class:`tgr.transforms.AddLevels`)."""
from typing import List, Optional

import torch
from torch import Tensor

from .levels import check_edge_index, topological_levels

__all__ = ['LevelSchedule', 'build_schedule', 'layer_schedule']


# Schedule ####################################################################
class LevelSchedule:
    r"""Nodes grouped by topological level and edges grouped by the level of
    their target, ready for :func:`propagate_levels`.

    Positions: nodes are sorted by level (stably), so level :math:`l` is the
    contiguous slice :obj:`node_ptr[l]:node_ptr[l + 1]` of positions; edges
    are sorted by the position of their target, so the edges into level
    :math:`l` are the slice :obj:`edge_ptr[l]:edge_ptr[l + 1]`.

    Attributes:
        num_nodes (int): :math:`|V|`.
        num_levels (int): :math:`L`, one more than the largest level.
        level (Tensor): The level of every node, :math:`(|V|,)`.
        perm (Tensor): Position :math:`\to` node id, :math:`(|V|,)`.
        rank (Tensor): Node id :math:`\to` position, :math:`(|V|,)`.
        edge_perm (Tensor): Sorted edge :math:`\to` original edge id.
        src (Tensor): Source position of every sorted edge.
        dst (Tensor): Target position of every sorted edge.
        dst_local (Tensor): Target position relative to the start of its
            level (the row of the target within the level's slice).
        node_ptr (List[int]): Level boundaries over positions, :math:`L + 1`.
        edge_ptr (List[int]): Level boundaries over sorted edges, :math:`L+1`.
    """
    __slots__ = ('num_nodes', 'num_levels', 'level', 'perm', 'rank',
                 'edge_perm', 'src', 'dst', 'dst_local', 'node_ptr',
                 'edge_ptr', '_edges', '_runs', '_orig')
    _CACHES = 3  # the last slots hold caches, not state

    def __init__(self, **kwargs):
        for key in self.__slots__[:-self._CACHES]:
            setattr(self, key, kwargs[key])
        self._edges = None
        self._runs = None
        self._orig = None

    def level_edges(self) -> List[tuple]:
        r"""Per level, the views :obj:`(src, dst_local)` of the edges into
        it (made once and cached, so the level loop does not slice)."""
        if self._edges is None:
            p = self.edge_ptr
            self._edges = [(self.src[p[i]:p[i + 1]],
                            self.dst_local[p[i]:p[i + 1]])
                           for i in range(self.num_levels)]
        return self._edges

    def runs(self) -> List[tuple]:
        r"""The maximal runs :obj:`(first, last)` of consecutive levels in
        which every level is *one-to-one* with the level before it: as many
        nodes as that level, each with exactly one incoming edge, from the
        node at the same place in that level (chains, unary runs, a batch of
        chains side by side). Such a run of :math:`k` levels of width
        :math:`w` is :math:`w` independent sequences of length :math:`k`,
        laid out as a contiguous :math:`(k, w)` block of positions, which a
        :class:`~tgr.schedule.LevelStep` can run as a plain recurrence
        (:meth:`~tgr.schedule.LevelStep.run_forward`). Computed once, with
        vectorised work and one host synchronisation."""
        if self._runs is None:
            self._runs = _one_to_one_runs(self)
        return self._runs

    @property
    def num_edges(self) -> int:
        return self.src.numel()

    def mismatch(self, edge_index: Tensor) -> Optional[int]:
        r"""Checks that the schedule was built for the dependency edges
        :obj:`edge_index` (same edges, same order, same direction) and
        returns the first original edge id where it differs, or :obj:`None`.
        Vectorised, :math:`O(|E|)`, one host synchronisation."""
        if edge_index.size(1) != self.num_edges:
            return 0
        if self.num_edges == 0:
            return None
        if self._orig is None:  # the edges in their original order, once
            mine = torch.stack([self.perm.index_select(0, self.src),
                                self.perm.index_select(0, self.dst)])
            self._orig = torch.empty_like(mine)
            self._orig[:, self.edge_perm] = mine
        edge_index = edge_index.to(self.device)
        if torch.equal(self._orig, edge_index.long()):
            return None
        bad = (self._orig != edge_index).any(dim=0)
        return int(bad.nonzero()[0, 0])

    @property
    def device(self) -> torch.device:
        return self.level.device

    def to(self, device) -> 'LevelSchedule':
        r"""Returns a copy of the schedule on :obj:`device`."""
        kwargs = {}
        for key in self.__slots__[:-self._CACHES]:
            value = getattr(self, key)
            kwargs[key] = value.to(device) if isinstance(value,
                                                         Tensor) else value
        return LevelSchedule(**kwargs)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_nodes={self.num_nodes}, '
                f'num_edges={self.num_edges}, num_levels={self.num_levels})')


def _one_to_one_runs(sched: 'LevelSchedule') -> List[tuple]:
    L = sched.num_levels
    if L < 2 or sched.num_edges == 0:
        return []
    device = sched.device
    node_ptr = torch.tensor(sched.node_ptr, device=device)
    edge_ptr = torch.tensor(sched.edge_ptr, device=device)
    width = node_ptr[1:] - node_ptr[:-1]
    num_in = edge_ptr[1:] - edge_ptr[:-1]
    # Level of every sorted edge's target (edges are sorted by target):
    lvl = torch.searchsorted(edge_ptr, torch.arange(sched.num_edges,
                                                    device=device),
                             right=True) - 1
    rank = torch.arange(sched.num_edges, device=device) - edge_ptr[lvl]
    ok = (sched.dst_local == rank) & \
        (sched.src == node_ptr[(lvl - 1).clamp(min=0)] + sched.dst_local)
    bad = torch.zeros(L, dtype=torch.long, device=device)
    bad.index_add_(0, lvl, (~ok).long())
    one = torch.zeros(L, dtype=torch.bool, device=device)
    one[1:] = (width[1:] == width[:-1]) & (num_in[1:] == width[1:]) & \
        (width[1:] > 0) & (bad[1:] == 0)
    runs, start = [], None
    for lvl, flag in enumerate(one.tolist() + [False]):
        if flag and start is None:
            start = lvl
        elif not flag and start is not None:
            runs.append((start, lvl - 1))
            start = None
    return runs


@torch.compiler.disable
def build_schedule(edge_index: Tensor, num_nodes: int,
                   level: Optional[Tensor] = None,
                   who: str = 'build_schedule') -> LevelSchedule:
    r"""Builds the :class:`LevelSchedule` of a dependency graph.

    Args:
        edge_index (torch.Tensor): Dependency edges, shape :math:`(2, |E|)`,
            from the node whose state is needed to the node that needs it.
        num_nodes (int): The number of nodes.
        level (torch.Tensor, optional): Precomputed levels, for instance from
            :class:`tgr.transforms.AddLevels` on every graph of a
            :class:`~torch_geometric.data.Batch`. Any assignment in which
            every edge climbs at least one level is exact; it is checked.
            (default: :obj:`None`, computed with :func:`topological_levels`)
        who (str, optional): The name used in error messages.
    """
    check_edge_index(edge_index, num_nodes, who)
    edge_index = edge_index.long()
    device = edge_index.device
    if level is None:
        level = topological_levels(edge_index, num_nodes, who=who)
    else:
        if not isinstance(level, Tensor) or level.dtype not in (torch.long,
                                                                torch.int):
            raise TypeError(f"'{who}' expects 'level' to be an integer "
                            f"tensor")
        if level.shape != (num_nodes, ):
            raise ValueError(f"'{who}' expects 'level' of shape "
                             f"({num_nodes},) (got {tuple(level.shape)})")
        level = level.to(device=device, dtype=torch.long)
        if num_nodes > 0 and int(level.min()) < 0:
            raise ValueError(f"'{who}' expects non-negative levels")
        if edge_index.numel() > 0:
            bad = level[edge_index[0]] >= level[edge_index[1]]
            if bool(bad.any()):
                e = int(bad.nonzero()[0, 0])
                u, v = int(edge_index[0, e]), int(edge_index[1, e])
                raise ValueError(
                    f"'{who}' got levels that do not fit 'edge_index': edge "
                    f"{u} -> {v} goes from level {int(level[u])} to level "
                    f"{int(level[v])} (levels must increase along every edge;"
                    f" were they computed for another graph or 'flow'?)")

    num_levels = int(level.max()) + 1 if num_nodes > 0 else 0
    level_sorted, perm = torch.sort(level, stable=True)
    rank = torch.empty_like(perm)
    rank[perm] = torch.arange(num_nodes, device=device)
    counts = torch.bincount(level, minlength=num_levels)
    node_ptr_t = torch.zeros(num_levels + 1, dtype=torch.long, device=device)
    torch.cumsum(counts, 0, out=node_ptr_t[1:])

    dst_pos = rank[edge_index[1]]
    dst, edge_perm = torch.sort(dst_pos, stable=True)
    src = rank[edge_index[0]][edge_perm]
    edge_ptr_t = torch.searchsorted(dst, node_ptr_t)
    dst_local = dst - node_ptr_t[level_sorted[dst]] if dst.numel() > 0 \
        else dst

    # One host synchronisation for all level boundaries, before any loop:
    node_ptr, edge_ptr = torch.stack([node_ptr_t, edge_ptr_t]).tolist()
    return LevelSchedule(num_nodes=num_nodes, num_levels=num_levels,
                         level=level, perm=perm, rank=rank,
                         edge_perm=edge_perm, src=src, dst=dst,
                         dst_local=dst_local, node_ptr=node_ptr,
                         edge_ptr=edge_ptr)


@torch.compiler.disable
def layer_schedule(who: str, x: Tensor, edge_index: Tensor,
                   flow: str = 'source_to_target',
                   level: Optional[Tensor] = None,
                   schedule: Optional[LevelSchedule] = None) -> LevelSchedule:
    r"""The schedule a layer runs on, from its :obj:`forward` arguments.

    Takes the number of nodes and the device from :obj:`x` (whose features
    the layer checks itself), validates :obj:`edge_index`, orients the edges
    as dependencies (:obj:`flow="source_to_target"` keeps them,
    :obj:`"target_to_source"` flips them), and returns :obj:`schedule` if one
    is given (after checking it fits), else builds one from :obj:`level` (if
    given) or from scratch.
    """
    if not isinstance(x, Tensor) or x.dim() == 0:
        raise TypeError(f"'{who}' expects 'x' to be a torch.Tensor of shape "
                        f"(num_nodes, ...)")
    num_nodes = x.size(0)
    check_edge_index(edge_index, num_nodes, who)
    if schedule is not None:
        if not isinstance(schedule, LevelSchedule):
            raise TypeError(f"'{who}' expects 'schedule' to be a "
                            f"LevelSchedule (got {type(schedule).__name__})")
        if (schedule.num_nodes != num_nodes
                or schedule.num_edges != edge_index.size(1)):
            raise ValueError(
                f"'{who}' got a schedule for {schedule.num_nodes} nodes and "
                f"{schedule.num_edges} edges, but the input has {num_nodes} "
                f"nodes and {edge_index.size(1)} edges")
        if schedule.device != x.device:
            raise ValueError(
                f"'{who}' got a schedule on {schedule.device} for input on "
                f"{x.device} (move it with 'schedule.to(x.device)')")
    if flow not in ('source_to_target', 'target_to_source'):
        raise ValueError(f"'{who}' expects 'flow' to be 'source_to_target' "
                         f"or 'target_to_source' (got '{flow}')")
    dep = edge_index if flow == 'source_to_target' else edge_index.flip(0)
    if schedule is None:
        return build_schedule(dep, num_nodes, level=level, who=who)
    e = schedule.mismatch(dep)
    if e is not None:
        u, v = (int(t) for t in dep[:, e])
        raise ValueError(
            f"'{who}' got a schedule that belongs to another graph or flow: "
            f"edge {e} of 'edge_index' is the dependency {u} -> {v} with "
            f"flow='{flow}', which the schedule does not hold at that place "
            f"(build it with build_schedule() from these edges, oriented as "
            f"the layer's flow)")
    return schedule
