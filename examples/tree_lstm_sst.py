r"""Tree-LSTM sentiment classification on the Stanford Sentiment Treebank.

Reproduces the setting of Tai et al. (2015), "Improved Semantic
Representations From Tree-Structured Long Short-Term Memory Networks"
(https://arxiv.org/abs/1503.00075): a Tree-LSTM over the binarized
constituency tree of each sentence, a softmax classifier on the hidden state
of every node, trained on every phrase's label; reported is the accuracy on
the root (whole-sentence) labels of the test split, at the epoch with the
best root accuracy on the dev split.

    python examples/tree_lstm_sst.py --model childsum            # 5 classes
    python examples/tree_lstm_sst.py --model nary --binary        # 2 classes

By default, word vectors are trained from a random start; pass
``--embeddings glove.840B.300d.txt`` (any "word v1 v2 ..." text file) to
start from pretrained vectors, as the paper does.
"""
import argparse
import os
import os.path as osp
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.loader import DataLoader
from tqdm import tqdm

from tgr.datasets import SST
from tgr.nn import ChildSumTreeLSTM, NAryTreeLSTM

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_TREES = osp.join(REPO, '..', 'shared', 'data', 'sst', 'trees')

parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
parser.add_argument('--model', choices=['childsum', 'nary'],
                    default='childsum')
parser.add_argument('--binary', action='store_true',
                    help='positive/negative instead of 5 classes')
parser.add_argument('--root', default=osp.join(REPO, 'data', 'SST'),
                    help='dataset folder; its raw/ holds train/dev/test.txt')
parser.add_argument('--seed', type=int, default=12345)
parser.add_argument('--epochs', type=int, default=10)
parser.add_argument('--batch-size', type=int, default=25)
parser.add_argument('--lr', type=float, default=0.05,
                    help='Adagrad learning rate of the Tree-LSTM and '
                    'classifier')
parser.add_argument('--emb-lr', type=float, default=0.1,
                    help='Adagrad learning rate of the word vectors')
parser.add_argument('--weight-decay', type=float, default=1e-4,
                    help='L2 penalty (not on the word vectors)')
parser.add_argument('--hidden', type=int, default=None,
                    help='(default: 168 for childsum, 150 for nary, as in '
                    'the paper, which matches their parameter counts)')
parser.add_argument('--emb-dim', type=int, default=300)
parser.add_argument('--dropout', type=float, default=0.5)
parser.add_argument('--embeddings', default=None,
                    help='GloVe-format text file "word v1 v2 ..." to start '
                    'the word vectors from')
parser.add_argument('--max-train', type=int, default=None,
                    help='train on the first N training sentences only')
parser.add_argument('--optimizer', choices=['adagrad', 'adam'],
                    default='adagrad')
parser.add_argument('--device', default=None,
                    help='(default: cuda if available, else cpu)')
parser.add_argument('--threads', type=int, default=1,
                    help='CPU threads; on a busy 2-core machine one thread '
                    'ran an epoch 14x faster than two (0 = PyTorch\'s '
                    'choice)')
args = parser.parse_args()
if args.hidden is None:
    args.hidden = 168 if args.model == 'childsum' else 150

torch.manual_seed(args.seed)
if args.threads > 0:
    torch.set_num_threads(args.threads)
device = torch.device(args.device or (
    'cuda' if torch.cuda.is_available() else 'cpu'))

# Data: link root/raw to the shared copy of the treebank if there is one.
raw = osp.join(args.root, 'raw')
if not osp.lexists(raw) and osp.isdir(SHARED_TREES):
    os.makedirs(args.root, exist_ok=True)
    os.symlink(osp.realpath(SHARED_TREES), raw, target_is_directory=True)
train_dataset = SST(args.root, 'train', binary=args.binary)
dev_dataset = SST(args.root, 'dev', binary=args.binary)
test_dataset = SST(args.root, 'test', binary=args.binary)
vocab = train_dataset.vocab
num_classes = 2 if args.binary else 5
if args.max_train is not None:
    train_dataset = train_dataset[:args.max_train]
generator = torch.Generator().manual_seed(args.seed)
train_loader = DataLoader(train_dataset, args.batch_size, shuffle=True,
                          generator=generator)
dev_loader = DataLoader(dev_dataset, 256)
test_loader = DataLoader(test_dataset, 256)


def load_embeddings(path: str, vocab: list, emb_dim: int) -> torch.Tensor:
    # Rows for the words of the vocabulary found in the file (as they are,
    # else with PTB escapes undone, else lower-cased); the others random.
    def candidates(word):
        plain = word.replace('\\/', '/').replace('\\*', '*').replace(
            '-LRB-', '(').replace('-RRB-', ')')
        return [word, plain, plain.lower()]

    wanted = {key for word in vocab[2:] for key in candidates(word)}
    vectors = {}
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            # Split on ' ' only: some words hold other white space.
            parts = line.rstrip('\n').rstrip(' ').split(' ')
            if len(parts) <= emb_dim:
                continue  # e.g. a word2vec header line "count dim"
            word = ' '.join(parts[:-emb_dim])
            if word in wanted and word not in vectors:
                vectors[word] = torch.tensor([float(v)
                                              for v in parts[-emb_dim:]])
    weight = torch.empty(len(vocab), emb_dim).uniform_(-0.05, 0.05)
    weight[0] = 0  # <pad>, the input of internal nodes
    found = 0
    for i, word in enumerate(vocab[2:], start=2):
        key = next((k for k in candidates(word) if k in vectors), None)
        if key is not None:
            weight[i] = vectors[key]
            found += 1
    print(f'Embeddings: {found} of {len(vocab) - 2} words found in {path}')
    return weight


class TreeLSTMClassifier(nn.Module):
    def __init__(self, num_words: int, emb_dim: int, hidden: int,
                 num_classes: int, model: str, dropout: float):
        super().__init__()
        self.embedding = nn.Embedding(num_words, emb_dim, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.model = model
        if model == 'childsum':
            self.tree_lstm = ChildSumTreeLSTM(emb_dim, hidden)
        else:
            self.tree_lstm = NAryTreeLSTM(emb_dim, hidden, num_children=2)
        self.lin = nn.Linear(hidden, num_classes)

    def forward(self, batch):
        # Internal nodes have token id 0 (<pad>), whose vector stays zero.
        x = self.dropout(self.embedding(batch.x))
        if self.model == 'childsum':
            h, _ = self.tree_lstm(x, batch.edge_index, level=batch.level)
        else:
            h, _ = self.tree_lstm(x, batch.edge_index,
                                  child_pos=batch.child_pos,
                                  level=batch.level)
        return self.lin(self.dropout(h))


model = TreeLSTMClassifier(len(vocab), args.emb_dim, args.hidden,
                           num_classes, args.model, args.dropout)
if args.embeddings is not None:
    model.embedding.weight.data.copy_(
        load_embeddings(args.embeddings, vocab, args.emb_dim))
model = model.to(device)
emb_params = list(model.embedding.parameters())
other_params = [p for n, p in model.named_parameters()
                if not n.startswith('embedding.')]
Optimizer = torch.optim.Adagrad if args.optimizer == 'adagrad' \
    else torch.optim.Adam
optimizer = Optimizer([
    dict(params=other_params, lr=args.lr, weight_decay=args.weight_decay),
    dict(params=emb_params, lr=args.emb_lr, weight_decay=0.),
])


def train(epoch: int) -> float:
    model.train()
    total_loss = total_graphs = 0
    for batch in tqdm(train_loader, desc=f'Epoch {epoch:02d}', leave=False):
        batch = batch.to(device)
        optimizer.zero_grad()
        out = model(batch)
        # Every phrase's label (-1: a neutral phrase in the binary task),
        # summed over the nodes of a tree, averaged over trees.
        loss = F.cross_entropy(out, batch.y, ignore_index=-1,
                               reduction='sum') / batch.num_graphs
        loss.backward()
        optimizer.step()
        total_loss += float(loss.detach()) * batch.num_graphs
        total_graphs += batch.num_graphs
    return total_loss / total_graphs


@torch.no_grad()
def test(loader) -> float:
    model.eval()
    correct = total = 0
    for batch in loader:
        batch = batch.to(device)
        pred = model(batch)[batch.root_mask].argmax(dim=-1)
        correct += int((pred == batch.y[batch.root_mask]).sum())
        total += int(batch.root_mask.sum())
    return correct / total


task = 'binary' if args.binary else 'fine-grained'
print(f'SST {task}: {len(train_dataset)} train / {len(dev_dataset)} dev / '
      f'{len(test_dataset)} test sentences, {len(vocab)} words; '
      f'{args.model} Tree-LSTM, hidden {args.hidden}, {device}, '
      f'{torch.get_num_threads()} CPU thread(s)')
best_dev = test_at_best = best_epoch = 0
start = time.perf_counter()
times = []
for epoch in range(1, args.epochs + 1):
    t = time.perf_counter()
    loss = train(epoch)
    train_time = time.perf_counter() - t
    dev_acc, test_acc = test(dev_loader), test(test_loader)
    times.append(time.perf_counter() - t)
    if dev_acc > best_dev:
        best_dev, test_at_best, best_epoch = dev_acc, test_acc, epoch
    print(f'Epoch: {epoch:02d}, Loss: {loss:.4f}, Dev: {dev_acc:.4f}, '
          f'Test: {test_acc:.4f}, Time: {times[-1]:.1f}s '
          f'(train {train_time:.1f}s)')
print(f'SST {task}, {args.model}: test root accuracy {test_at_best:.4f} at '
      f'the best dev epoch {best_epoch} (dev {best_dev:.4f}); '
      f'{sum(times) / len(times):.1f}s/epoch, total '
      f'{time.perf_counter() - start:.0f}s')
