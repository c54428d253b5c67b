r"""The reader of PTB-bracketed sentiment trees, the format of the Stanford
Sentiment Treebank (:class:`tgr.datasets.SST`): one binary tree per line with
a label in :math:`\{0, \dots, 4\}` on every node, e.g.
:obj:`"(3 (2 (2 The) (2 Rock)) (4 ...))"`."""
import re
from typing import List, Optional, Tuple

__all__ = ['parse_ptb_tree', 'read_ptb_trees']

#: A tree as :func:`parse_ptb_tree` returns it: :obj:`(parent, label, word)`.
Tree = Tuple[List[int], List[int], List[Optional[str]]]

# A token is '(' or ')' or a run of anything else but the ASCII space and the
# parentheses. Tokens may hold U+00A0 (e.g. "8\xa01\/2"), so never split with
# str.split() without an argument, which would cut them in two.
_TOKEN = re.compile(r'[()]|[^ ()]+')
_LABELS = {'0': 0, '1': 1, '2': 2, '3': 3, '4': 4}


def parse_ptb_tree(line: str, path: str = '<string>', lineno: int = 1,
                   ) -> Tree:
    r"""Parses one PTB-bracketed binary tree with a label on every node, e.g.
    :obj:`"(3 (2 (2 The) (2 Rock)) (4 ...))"`.

    Nodes are numbered in pre-order (the root is node :obj:`0`, then the left
    subtree, then the right subtree), so the leaves appear in sentence order.

    Returns:
        :obj:`(parent, label, word)`, three lists with one entry per node:
        the parent of the node (:obj:`-1` for the root), its label in
        :math:`\{0, \dots, 4\}` and its token (:obj:`None` for internal
        nodes). The position of a node under its parent is :obj:`0` if it is
        its parent's first child, else :obj:`1`.

    Raises:
        ValueError: if the line is not such a tree; the message names
            :obj:`path` and :obj:`lineno`.
    """
    def fail(msg: str):
        raise ValueError(f"SST file '{path}', line {lineno}: {msg}")

    tokens = _TOKEN.findall(line)
    parent: List[int] = []
    label: List[int] = []
    word: List[Optional[str]] = []
    num_children: List[int] = []
    stack: List[int] = []
    i, n, done = 0, len(tokens), False
    while i < n:
        tok = tokens[i]
        if done:
            fail(f"unexpected '{tok}' after the end of the tree")
        if tok == '(':
            if i + 1 >= n or tokens[i + 1] not in _LABELS:
                got = tokens[i + 1] if i + 1 < n else 'the end of the line'
                fail(f"expected a label in 0-4 after '(' (got '{got}')")
            if stack:
                top = stack[-1]
                if word[top] is not None:
                    fail(f"node {top} has both a token and a subtree")
                if num_children[top] == 2:
                    fail(f"node {top} has more than two children (SST trees "
                         f"are binary)")
                num_children[top] += 1
            parent.append(stack[-1] if stack else -1)
            label.append(_LABELS[tokens[i + 1]])
            word.append(None)
            num_children.append(0)
            stack.append(len(parent) - 1)
            i += 2
        elif tok == ')':
            if not stack:
                fail("unbalanced ')'")
            node = stack.pop()
            if word[node] is None and num_children[node] != 2:
                fail(f'node {node} has {num_children[node]} child(ren) and '
                     f'no token (internal nodes have exactly two children)')
            done = not stack
            i += 1
        else:
            if not stack:
                fail(f"unexpected token '{tok}' outside of the brackets")
            node = stack[-1]
            if word[node] is not None or num_children[node] > 0:
                fail(f"unexpected token '{tok}' in node {node}")
            word[node] = tok
            i += 1
    if not parent:
        fail('no tree on the line')
    if stack:
        fail(f"{len(stack)} unclosed '('")
    return parent, label, word


def read_ptb_trees(path: str) -> List[Tree]:
    r"""Parses every non-empty line of the file :obj:`path` (UTF-8, LF or
    CRLF line ends) with :func:`parse_ptb_tree`.

    Raises:
        ValueError: at the first malformed line; the message names the file
            and the (1-based) line.
    """
    out = []
    with open(path, encoding='utf-8', newline='') as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip('\r\n')
            if line.strip(' ') == '':
                continue
            out.append(parse_ptb_tree(line, path, lineno))
    return out
