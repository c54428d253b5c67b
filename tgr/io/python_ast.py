r"""The reader of Python source files as abstract syntax trees in the form of
OGB's `ogbg-code2 <https://ogb.stanford.edu/docs/graphprop/#ogbg-code2>`_
(:class:`tgr.datasets.PythonCodeTrees`): one tree per function, its nodes
in depth-first pre-order under a :obj:`Module` root, as OGB walks
:obj:`ast.parse` of a function's source."""
import ast
import warnings
from typing import Iterator, List, Optional, Tuple

__all__ = ['MASK_TOKEN', 'FunctionTree', 'read_python_functions']

#: The attribute that replaces the function's own name in its tree.
MASK_TOKEN = '_mask_'

#: A function's tree: :obj:`(types, attributes, depth, parent)`, one entry
#: per node (:obj:`parent` is :obj:`-1` at the root).
FunctionTree = Tuple[List[str], List[Optional[str]], List[int], List[int]]


def _node_attribute(node: ast.AST) -> Optional[str]:
    # OGB's walker takes the first of name, arg, s, n, id, attr that is not
    # None; no node type has two of them, and s/n are Constant.value.
    for field in ('name', 'arg', 'id', 'attr'):
        value = getattr(node, field, None)
        if value is not None:
            return str(value)
    if isinstance(node, ast.Constant) and node.value is not None:
        return str(node.value)
    return None


def _function_nodes(func: ast.AST) -> FunctionTree:
    # Depth-first pre-order under a synthetic 'Module' root, the tree of
    # ast.parse(<the function's source>) that OGB walks. Every attribute
    # equal to the function's name becomes MASK_TOKEN.
    name = func.name
    types, attrs, depth, parent = ['Module'], [None], [0], [-1]
    stack = [(func, 1, 0)]
    while stack:
        node, d, p = stack.pop()
        i = len(types)
        attr = _node_attribute(node)
        types.append(type(node).__name__)
        attrs.append(MASK_TOKEN if attr == name else attr)
        depth.append(d)
        parent.append(p)
        children = list(ast.iter_child_nodes(node))
        stack.extend((c, d + 1, i) for c in reversed(children))
    return types, attrs, depth, parent


def _functions(tree: ast.AST) -> Iterator[ast.AST]:
    # Every (async) function definition, nested ones too, in pre-order.
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def read_python_functions(path: str, filename: Optional[str] = None,
                          ) -> List[Tuple[str, FunctionTree]]:
    r"""Parses the Python file :obj:`path` with :mod:`ast` (warnings such as
    invalid escapes silenced) and returns the tree of every (async) function
    and method, nested ones too (which also stay inside their enclosing
    function's tree), in pre-order: :obj:`(name, (types, attributes, depth,
    parent))`.

    Every AST node is a tree node (contexts and operators included), named
    by its type. A node's attribute is its :obj:`name`, :obj:`arg`,
    :obj:`id` or :obj:`attr`, or the :obj:`str` of a non-:obj:`None`
    constant (else :obj:`None`); every attribute equal to the function's
    name becomes :obj:`MASK_TOKEN`: its definition as in OGB, and, stricter
    than OGB, recursive calls and :obj:`self.name` references too.

    Args:
        path (str): The file.
        filename (str, optional): The name :obj:`ast.parse` gives the file
            in its errors. (default: :obj:`path`)

    Raises:
        SyntaxError, ValueError, UnicodeDecodeError, RecursionError: if the
            file cannot be parsed (a :class:`SyntaxError` names the file and
            the line).
    """
    with open(path, 'rb') as f:
        code = f.read()
    with warnings.catch_warnings():  # e.g. invalid escapes
        warnings.simplefilter('ignore')
        tree = ast.parse(code, filename=path if filename is None else filename)
    return [(f.name, _function_nodes(f)) for f in _functions(tree)]
