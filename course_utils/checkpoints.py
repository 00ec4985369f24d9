"""Checkpoint files of `training.fit`: written atomically by any number of processes, read with a diagnosis.

Each writer saves to its own temporary file (process id and a random part in its name) and renames it over the
checkpoint in one step, so two kernels training the same stage both finish and the later save wins. A file that
cannot be read as a checkpoint is renamed `<name>.bad` (kept, never loaded as pickled code) and the stage trains
afresh. Nothing here trains.
"""
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import torch

from .atomic import write_atomically

ENTRIES = ("model", "optimizer", "epoch", "history")  # what save_checkpoint always writes


class UnreadableCheckpoint(Exception):
    """A checkpoint file that is not a checkpoint fit can resume from; the message says what is wrong with it."""


def save(path, state):
    """Write `state` to `path` through a temporary file of this process, then one atomic rename (fit)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda tmp: torch.save(state, tmp))


def read(path):
    """The saved state of a checkpoint (on the CPU, tensors and plain values only); UnreadableCheckpoint if not."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise UnreadableCheckpoint("the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():  # torch's note on pickle protocols is no help to a student
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnreadableCheckpoint("it holds Python objects other than weights and plain values, which are never "
                                   "loaded (that would run code stored in the file)") from error
    except Exception as error:  # torch names no file: OSError, EOFError, RuntimeError of the zip reader, ...
        what = "truncated" if zipfile.is_zipfile(path) or _starts_like_zip(path) else "not a torch checkpoint"
        raise UnreadableCheckpoint(f"the file is {what} ({size:,} bytes; {type(error).__name__})") from error
    if not isinstance(state, dict):
        raise UnreadableCheckpoint(f"it holds a {type(state).__name__}, not a training checkpoint")
    missing = [name for name in ENTRIES if name not in state]
    if missing:
        raise UnreadableCheckpoint(f"it is a dict without the entries {', '.join(missing)} that fit writes")
    return state


def _starts_like_zip(path):
    """True when the file begins like the zip archive torch.save writes (a cut-off copy loses only its end)."""
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def set_aside(path):
    """Rename an unreadable checkpoint to `<name>.bad` (`<name>.2.bad`, ... when taken); returns the new path."""
    path = Path(path)
    bad, n = path.with_name(path.name + ".bad"), 1
    while bad.exists():
        n += 1
        bad = path.with_name(f"{path.name}.{n}.bad")
    os.replace(path, bad)
    return bad
