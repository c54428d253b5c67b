def check_attr_name(who: str, attr: str) -> None:
    r"""Refuses an attribute name that PyG's
    :class:`~torch_geometric.data.Batch` would shift by the number of nodes
    (names containing ``"index"``) or treat as a batch vector (``"batch"``):
    per-graph levels or labels stored under such a name would be corrupted
    when graphs are batched."""
    if not isinstance(attr, str) or 'index' in attr or 'batch' in attr:
        raise ValueError(f"'{who}' expects an 'attr' without 'index' or "
                         f"'batch' in its name, which PyG's Batch would shift "
                         f"(got {attr!r})")
