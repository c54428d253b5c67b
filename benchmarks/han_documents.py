r"""Hierarchical attention network benchmark: documents per second, forward +
backward (cross entropy), of
:class:`tgr.nn.models.HierarchicalAttentionNetwork` (packed GRUs over
exactly the tokens of each sentence and the sentences of each document,
scatter softmaxes over segments) against a padded implementation of the
same model with the same weights, all in this one process, medians of
``--repeat`` interleaved runs.

    python benchmarks/han_documents.py --threads 1
    python benchmarks/han_documents.py --batch-size 64 --batches 8 --repeat 5
    python benchmarks/han_documents.py --device cuda

Input: the first ``--batches`` batches of ``--batch-size`` training articles
of BBC News (``tgr.datasets.BBCNews`` on ``../shared/data/bbc``, or
``--root``; shuffled once with ``--seed``), or, without the data, synthetic
documents with BBC's lengths (log-normal numbers of sentences and of words,
medians 17 and 19). The model has the paper's sizes (embeddings 200, GRU 50
per direction, attention 100) and BBC's vocabulary.

The padded rows are what public re-implementations run: token ids in a
dense ``(B, S, W)`` grid, one ``torch.nn.GRU`` call over all ``B * S`` rows
of ``W`` steps (pad steps included, no packing), the attention softmax with
a mask, a second GRU over the ``S`` sentence slots:

- *padded, 30 x 35 grid*: the fixed grid of public code; longer documents
  and sentences are cut (the table says how much of the text that drops);
- *padded, batch max*: the grid of the batch's longest document and
  sentence, nothing cut.

Neither padded variant equals the model exactly (the backward GRU reads
the pads before the words, and the 30 x 35 grid truncates); on a batch with
no padding at all (equal lengths) their logits are checked equal to tgr's
before timing. Grids are built before timing, as a data loader would.
"""
import argparse
import os
import os.path as osp
import random
import sys
import tempfile

import torch
import torch.nn.functional as F
from _timing import median_times
from torch_geometric.data import Batch

from tgr.datasets import BBCNews, DocumentData
from tgr.nn.models import HierarchicalAttentionNetwork

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_BBC = osp.join(REPO, '..', 'shared', 'data', 'bbc')


# The padded implementation ###################################################
def to_grid(batch, S=None, W=None):
    # (B, S, W) token ids (0 = pad), the word mask and the sentence mask;
    # sentences beyond S and words beyond W are cut.
    B = batch.num_graphs
    sent_len = torch.bincount(batch.token_sentence,
                              minlength=batch.sentence_document.numel())
    doc_len = torch.bincount(batch.sentence_document, minlength=B)
    S = S or int(doc_len.max())
    W = W or int(sent_len.max())
    sent_start = torch.cumsum(sent_len, 0) - sent_len
    doc_start = torch.cumsum(doc_len, 0) - doc_len
    s_pos = (torch.arange(batch.sentence_document.numel()) -
             doc_start[batch.sentence_document])
    t_pos = torch.arange(batch.token.numel()) - \
        sent_start[batch.token_sentence]
    t_doc = batch.sentence_document[batch.token_sentence]
    t_spos = s_pos[batch.token_sentence]
    keep = (t_spos < S) & (t_pos < W)
    grid = torch.zeros(B, S, W, dtype=torch.long)
    grid[t_doc[keep], t_spos[keep], t_pos[keep]] = batch.token[keep]
    word_mask = torch.zeros(B, S, W, dtype=torch.bool)
    word_mask[t_doc[keep], t_spos[keep], t_pos[keep]] = True
    sent_mask = word_mask.any(dim=-1)
    return grid, word_mask, sent_mask, int(keep.sum())


def masked_attention(pool, h, mask):
    u = torch.tanh(pool.lin(h))
    score = (u @ pool.context).masked_fill(~mask, torch.finfo(h.dtype).min)
    alpha = torch.softmax(score, dim=-1)
    return (alpha.unsqueeze(-1) * h).sum(dim=-2)


def padded_forward(model, grid, word_mask, sent_mask):
    B, S, W = grid.shape
    x = model.embedding(grid.view(B * S, W)).transpose(0, 1)  # (W, B*S, E)
    h, _ = model.word_gru(x)
    s = masked_attention(model.word_att, h.transpose(0, 1),
                         word_mask.view(B * S, W))
    h, _ = model.sentence_gru(s.view(B, S, -1).transpose(0, 1))
    v = masked_attention(model.sentence_att, h.transpose(0, 1), sent_mask)
    return model.lin(v)


# Data ########################################################################
def bbc_documents(root, seed):
    if root is None:
        if not osp.isdir(SHARED_BBC):
            return None
        root = tempfile.mkdtemp(prefix='han_bench_')
        os.symlink(osp.realpath(SHARED_BBC), osp.join(root, 'raw'))
    ds = BBCNews(root, 'train', log=False)
    docs = list(ds)
    random.Random(seed).shuffle(docs)
    return docs, len(ds.vocab), 'BBC News train split'


def synthetic_documents(num_docs, seed, vocab=17743):
    rng = random.Random(seed)
    docs = []
    for _ in range(num_docs):
        n = max(1, round(rng.lognormvariate(2.83, 0.5)))  # median 17
        sentences = [[rng.randrange(2, vocab) for _ in range(
            max(1, round(rng.lognormvariate(2.94, 0.5))))]  # median 19
            for _ in range(n)]
        docs.append(DocumentData.from_sentences(sentences,
                                                y=torch.tensor([0])))
    return docs, vocab, 'synthetic documents with BBC-like lengths'


def check_equal_on_unpadded(model, device):
    # Equal lengths everywhere: no padding, so the padded model is exact.
    gen = torch.Generator().manual_seed(0)
    docs = [DocumentData.from_sentences(
        torch.randint(2, model.num_embeddings, (4, 6),
                      generator=gen).tolist()) for _ in range(3)]
    batch = Batch.from_data_list(docs)
    grid, wm, sm, _ = to_grid(batch)
    with torch.no_grad():
        ours = model(batch.token.to(device), batch.token_sentence.to(device),
                     batch.sentence_document.to(device), 3)[0]
        padded = padded_forward(model, grid.to(device), wm.to(device),
                                sm.to(device))
    assert torch.allclose(ours, padded, atol=1e-4), (ours, padded)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--batches', type=int, default=4)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--root', default=None,
                        help='BBCNews root (default: ../shared/data/bbc '
                        'linked into a temporary folder)')
    parser.add_argument('--synthetic', action='store_true',
                        help='synthetic documents even if BBC is there')
    parser.add_argument('--device', default='cpu',
                        help="'cpu' or 'cuda'")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    n_docs = args.batch_size * args.batches

    data = None if args.synthetic else bbc_documents(args.root, args.seed)
    if data is None:
        data = synthetic_documents(n_docs, args.seed)
    docs, vocab, source = data
    docs = docs[:n_docs]
    batches = [Batch.from_data_list(docs[i:i + args.batch_size])
               for i in range(0, len(docs), args.batch_size)]

    torch.manual_seed(args.seed)
    model = HierarchicalAttentionNetwork(vocab, 5).to(device)
    check_equal_on_unpadded(model, device)

    tgr_in = [(b.token.to(device), b.token_sentence.to(device),
               b.sentence_document.to(device), b.num_graphs,
               b.y.to(device)) for b in batches]
    grids = {}
    tokens = sum(b.token.numel() for b in batches)
    for name, S, W in (('30x35', 30, 35), ('max', None, None)):
        grid_in, cells, kept = [], 0, 0
        for b in batches:
            grid, wm, sm, k = to_grid(b, S, W)
            grid_in.append((grid.to(device), wm.to(device), sm.to(device),
                            b.y.to(device)))
            cells += grid.numel()
            kept += k
        grids[name] = (grid_in, cells, kept)

    def run_tgr():
        for token, ts, sd, n, y in tgr_in:
            logits, _, _ = model(token, ts, sd, n)
            F.cross_entropy(logits, y).backward()
        model.zero_grad(set_to_none=True)

    def run_padded(name):
        def fn():
            for grid, wm, sm, y in grids[name][0]:
                F.cross_entropy(padded_forward(model, grid, wm, sm),
                                y).backward()
            model.zero_grad(set_to_none=True)
        return fn

    times = median_times([run_tgr, run_padded('30x35'), run_padded('max')],
                         args.repeat, device=device)
    sents = sum(b.sentence_document.numel() for b in batches)
    print(f'# python benchmarks/han_documents.py {" ".join(sys.argv[1:])}')
    print(f'\nHierarchicalAttentionNetwork (embeddings 200, GRU 50 x 2, '
          f'attention 100, vocabulary {vocab}) forward + backward, '
          f'{len(batches)} batches of {args.batch_size} documents from '
          f'{source} ({len(docs)} documents, {sents} sentences, {tokens} '
          f'tokens), {device.type.upper()}, {torch.get_num_threads()} '
          f'thread(s), torch {torch.__version__}, median of {args.repeat}\n')
    print('| implementation | grid cells / real tokens | text kept | '
          'ms per batch | documents / s | vs tgr |')
    print('|---|---:|---:|---:|---:|---:|')
    rows = [('tgr, packed + scatter attention', tokens, tokens, times[0]),
            ('padded, 30 x 35 grid (public code)', grids['30x35'][1],
             grids['30x35'][2], times[1]),
            ('padded, batch max (nothing cut)', grids['max'][1],
             grids['max'][2], times[2])]
    for name, cells, kept, t in rows:
        ratio = t / times[0]
        print(f'| {name} | {cells / tokens:.2f} | {100 * kept / tokens:.1f} '
              f'% | {1e3 * t / len(batches):.0f} | {len(docs) / t:.0f} | '
              f'{ratio:.2f}x the time |')


if __name__ == '__main__':
    main()
