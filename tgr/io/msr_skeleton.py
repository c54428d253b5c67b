r"""The reader of MSR Action3D skeleton files
(:obj:`aXX_sYY_eZZ_skeleton3D.txt`, the Kinect v1 joints of
:class:`tgr.datasets.MSRAction3D`)."""
import numpy as np
import torch
from torch import Tensor

from ._text import check_numbers, line_error, read_lines

__all__ = ['read_msr_skeleton']

#: The joints of a Kinect v1 body, 20 lines per frame in the files.
NUM_JOINTS = 20


def read_msr_skeleton(path: str) -> Tensor:
    r"""Reads an MSR Action3D :obj:`aXX_sYY_eZZ_skeleton3D.txt` file: one
    line of four numbers (:obj:`x y z confidence`) per joint, 20 lines per
    frame (LF or CRLF line ends).

    Returns:
        :obj:`float64` tensor of shape :math:`(T, 20, 4)`.

    Raises:
        ValueError: if the file is malformed; the message names the file and
            the (1-based) line.
    """
    lines = read_lines(path)
    fail = line_error('MSR Action3D', path)

    num_joints = NUM_JOINTS
    if not lines:
        fail(1, 'the file has no frames')
    rows = [line.split() for line in lines]
    try:
        if any(len(row) != 4 for row in rows):
            raise ValueError
        values = np.array(rows, dtype=np.float64)
        ok = bool(np.isfinite(values).all())
    except ValueError:
        ok = False
    if not ok:
        for lineno, line in enumerate(lines, start=1):
            check_numbers(fail, lineno, line, 4, 'expected 4 values (x y z '
                          'confidence), got {got}')
        values = np.array([[float(v) for v in row] for row in rows])
    if len(rows) % num_joints != 0:
        fail(len(rows) + 1, f'unexpected end of file: {len(rows)} joint '
                            f'lines is not a whole number of frames of '
                            f'{num_joints} joints')
    return torch.from_numpy(values).view(-1, num_joints, 4)
