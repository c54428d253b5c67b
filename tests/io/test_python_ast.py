import pytest

from tgr.io.python_ast import MASK_TOKEN, read_python_functions

SOURCE = '''
def outer(x):
    def inner(y):
        return outer(y)
    return inner


async def run():
    pass
'''


def test_read_python_functions(tmp_path):
    path = tmp_path / 'm.py'
    path.write_text(SOURCE)
    funcs = read_python_functions(str(path))
    assert [name for name, _ in funcs] == ['outer', 'inner', 'run']
    types, attrs, depth, parent = funcs[1][1]  # def inner(y): ...
    assert types == ['Module', 'FunctionDef', 'arguments', 'arg', 'Return',
                     'Call', 'Name', 'Load', 'Name', 'Load']
    # The name is masked, the recursive call to another function is not:
    assert attrs == [None, MASK_TOKEN, None, 'y', None, None, 'outer', None,
                     'y', None]
    assert depth == [0, 1, 2, 3, 2, 3, 4, 5, 4, 5]
    assert parent == [-1, 0, 1, 2, 1, 4, 5, 6, 5, 8]
    # 'inner' stays inside the tree of 'outer', and 'outer' is masked there:
    types, attrs, _, _ = funcs[0][1]
    assert 'inner' in attrs and attrs.count(MASK_TOKEN) == 2
    assert funcs[2][1][0][:2] == ['Module', 'AsyncFunctionDef']


def test_read_python_functions_errors(tmp_path):
    path = tmp_path / 'bad.py'
    path.write_text('def broken(:\n    pass\n')
    with pytest.raises(SyntaxError) as info:
        read_python_functions(str(path), filename='pkg/bad.py')
    assert info.value.filename == 'pkg/bad.py' and info.value.lineno == 1
    path.write_bytes(b'x = "\xff"\n')
    with pytest.raises((SyntaxError, UnicodeDecodeError)):
        read_python_functions(str(path))
