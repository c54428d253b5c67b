r"""Helpers of the line-based text readers."""
import math
from typing import Callable, List, NoReturn


def read_lines(path: str) -> List[str]:
    # The lines of a text file (LF or CRLF line ends, any byte read as
    # Latin-1), without the trailing blank lines.
    with open(path, encoding='latin-1', newline=None) as f:
        lines = f.read().split('\n')
    while lines and lines[-1].strip() == '':
        lines.pop()
    return lines


def line_error(what: str, path: str) -> Callable[[int, str], NoReturn]:
    # A function that raises the ValueError of a malformed line of `path`, a
    # file of the format `what`, naming the file and the (1-based) line.
    def fail(lineno: int, msg: str) -> NoReturn:
        raise ValueError(f"{what} file '{path}', line {lineno}: {msg}")
    return fail


def check_numbers(fail: Callable[[int, str], NoReturn], lineno: int,
                  line: str, count: int, wrong_count: str,
                  finite: slice = slice(None),
                  non_finite: str = 'non-finite value') -> None:
    # Fails on line `lineno` unless `line` holds `count` numbers, those in
    # `finite` finite; `wrong_count` is the message, with '{got}' for the
    # number of values found.
    row = line.split()
    if len(row) != count:
        fail(lineno, wrong_count.format(got=len(row)))
    try:
        nums = [float(v) for v in row]
    except ValueError:
        fail(lineno, f"expected {count} numbers, got '{line.strip()}'")
    if not all(math.isfinite(v) for v in nums[finite]):
        fail(lineno, non_finite)
