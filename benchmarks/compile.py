r"""What ``torch.compile(model)`` costs and gives for every tgr layer family.

For each layer, in one process: the eager forward + backward time of a
batch; then a fresh ``torch.compile`` of the same module (default inductor
backend) timed on its first call (tracing and code generation), on a second
batch of another shape (the recompile with dynamic shapes), and in steady
state on that second shape; and the graph breaks ``torch._dynamo.explain``
finds (each layer runs its level loop and its data-dependent structure work
behind ``torch.compiler.disable``, so those are where it breaks).

    python benchmarks/compile.py --threads 1
"""
import argparse
import statistics
import sys
import time

import torch
from torch_geometric.data import Batch

from tgr.nn import (AGCLSTM, HAN, ChildSumTreeLSTM, GraphLSTM,
                    GraphStructuredLSTM, NAryTreeLSTM, PartAwareLSTM,
                    SpatialGraphConv, skeleton_partition)
from tgr.nn.models import AGCLSTMNet, HierarchicalAttentionNetwork
from tgr.testing import random_forest, random_skeleton


def forest(n, seed):
    return (torch.randn(n, 32),
            random_forest(n, num_trees=n // 30, seed=seed, max_children=3))


def skeletons(n, seed, T=20):
    data = []
    for i in range(n):
        d = random_skeleton(25, T=T, C=3, seed=seed + i)
        d.x = d.x.float()
        d.partition = skeleton_partition(d.edge_index, d.center)
        data.append(d)
    b = Batch.from_data_list(data)
    joint = torch.arange(b.num_nodes) - b.ptr[b.batch]
    return b, joint


def undirected(n, seed):
    # A random undirected graph of n nodes (about 3 neighbours each) and a
    # random confidence.
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(n, (2, 3 * n // 2), generator=gen)
    ei = ei[:, ei[0] != ei[1]]
    return (torch.randn(n, 32), torch.cat([ei, ei.flip(0)], dim=1),
            torch.rand(n, generator=gen))


def hetero(n, seed):
    # Papers with two meta-path graphs (about 5 and 20 neighbours each).
    gen = torch.Generator().manual_seed(seed)
    x = {'paper': torch.randn(n, 32)}
    edges = {('paper', mp, 'paper'): torch.randint(n, (2, k * n),
                                                   generator=gen)
             for mp, k in (('PAP', 5), ('PLP', 20))}
    return x, edges


def documents(n, seed):
    # n tokens in sentences of 1-20 tokens, documents of 1-10 sentences.
    gen = torch.Generator().manual_seed(seed)
    sent = torch.randint(1, 21, (n,), generator=gen).cumsum(0)
    token_sentence = torch.bucketize(torch.arange(n), sent, right=True)
    S = int(token_sentence.max()) + 1
    doc = torch.randint(1, 11, (S,), generator=gen).cumsum(0)
    sentence_document = torch.bucketize(torch.arange(S), doc, right=True)
    return (torch.randint(1000, (n,), generator=gen), token_sentence,
            sentence_document)


def cases():
    def tree(cls, **kw):
        return lambda: cls(32, 32, **kw), lambda n, s: forest(n, s)

    def skel(make, call):
        def inputs(n, s):
            b, joint = skeletons(max(n // 300, 2), s)
            return call(b, joint)
        return make, inputs

    gs_in = (lambda n, s: (torch.randn(n, 32),
                           random_forest(n, n // 30, s).flip(0)))
    return {
        'ChildSumTreeLSTM': tree(ChildSumTreeLSTM),
        'ChildSumTreeLSTM(aggr=mean)': tree(ChildSumTreeLSTM, aggr='mean'),
        'NAryTreeLSTM(N=3)': tree(NAryTreeLSTM, num_children=3),
        'GraphStructuredLSTM': (lambda: GraphStructuredLSTM(32, 32), gs_in),
        'SpatialGraphConv': skel(lambda: SpatialGraphConv(3, 32),
                                 lambda b, j: (b.x, b.edge_index,
                                               b.partition)),
        'AGCLSTM': skel(lambda: AGCLSTM(3, 32),
                        lambda b, j: (b.x, b.edge_index, b.partition,
                                      b.batch)),
        'PartAwareLSTM': skel(lambda: PartAwareLSTM(3, 16, 5, 25),
                              lambda b, j: (b.x, j % 5, b.batch, j)),
        'AGCLSTMNet': skel(lambda: AGCLSTMNet(3, 10, hidden_channels=32),
                           lambda b, j: (b.x, b.edge_index, b.partition,
                                         b.batch)),
        'GraphLSTM': (lambda: GraphLSTM(32, 32), undirected),
        'HAN': (lambda: HAN(32, 8, (['paper'], [('paper', 'PAP', 'paper'),
                                                ('paper', 'PLP', 'paper')]),
                            heads=4),
                lambda n, s: hetero(n // 3, s)),
        'HierarchicalAttentionNetwork': (
            lambda: HierarchicalAttentionNetwork(
                1000, 5, embedding_dim=32, hidden_channels=16,
                att_channels=16),
            lambda n, s: documents(3 * n, s)),
    }


def flat(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if out is None:
        return []
    if isinstance(out, dict):
        out = list(out.values())
    return [t for o in out for t in flat(o)]


def step(module, args):
    out = module(*args)
    loss = sum(t.float().pow(2).sum() for t in flat(out)
               if t.is_floating_point() and t.requires_grad)
    loss.backward()


def timed(fn, repeat=1):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--nodes', type=int, default=3000,
                        help='nodes of the first batch (the second has 1.5x)')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--only', default=None,
                        help='comma-separated layer names')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__}, {args.threads} thread(s), batches of '
          f'{args.nodes} and {int(1.5 * args.nodes)} nodes (trees) or of '
          f'{max(args.nodes // 300, 2)} and {max(int(1.5 * args.nodes) // 300, 2)}'
          f' 25-joint skeletons x 20 frames; forward + backward, medians of '
          f'{args.repeat}')
    print(f'| layer | eager | compile 1st call | 2nd shape | steady | '
          f'steady / eager | graphs / breaks |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    only = args.only.split(',') if args.only else None
    for name, (make, inputs) in cases().items():
        if only and name not in only:
            continue
        torch.manual_seed(0)
        module = make()
        a1 = inputs(args.nodes, 1)
        a2 = inputs(int(1.5 * args.nodes), 2)
        step(module, a1)  # materialise lazy sizes, warm up
        eager = timed(lambda: step(module, a2), args.repeat)
        torch._dynamo.reset()
        compiled = torch.compile(module)
        first = timed(lambda: step(compiled, a1))
        second = timed(lambda: step(compiled, a2))
        steady = timed(lambda: step(compiled, a2), args.repeat)
        torch._dynamo.reset()
        ex = torch._dynamo.explain(module)(*a2)
        print(f'| {name} | {eager * 1e3:.1f} ms | {first:.1f} s | '
              f'{second:.1f} s | {steady * 1e3:.1f} ms | '
              f'{steady / eager:.2f} | {ex.graph_count} / '
              f'{ex.graph_break_count} |', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
