"""The one temp-then-rename writer: a file or folder is written under a temp name unique to the process and only
then renamed onto its target, so a reader never sees half of it and two processes never share a temp name; and
the one file hash (sha256) of manifests and weights checks.

Used by the stand-in generators (datasets.standins), the data command's imports (data_download), the training
checkpoints (checkpoints.save) and the weights import; imports nothing but the standard library.
"""
import hashlib
import os
import secrets
import shutil
import time
from contextlib import contextmanager
from pathlib import Path


def temp_name(target, tag="tmp"):
    """A sibling of target no other process or call uses: .<name>.<tag>-<pid>-<random>."""
    target = Path(target)
    return target.with_name(f".{target.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}")


def remove(path):
    """Delete a file or folder if it is there (clean-up after a failure; errors ignored)."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass


def file_sha256(path):
    """Hex sha256 of one file, read in 1 MiB blocks (dataset manifests, the ResNet-18 weights check)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def replace(tmp, target, tries=20):
    """os.replace, retried briefly where another process holds the target open (Windows refuses the rename)."""
    for attempt in range(tries):
        try:
            os.replace(tmp, target)
            return
        except PermissionError:
            if attempt + 1 == tries:
                raise
            time.sleep(0.05)


def write_atomically(target, write, folder=False, keep=None):
    """Call write(tmp) on a unique temp path beside target, then rename tmp onto target; returns target.

    folder=True creates tmp as a folder first. A file target is replaced atomically (os.replace): when two
    processes write the same target, both finish and the later rename wins. A folder target that exists is kept
    when keep(target) is true (a complete copy another process put there first), else replaced (swapped_in).
    A failed write leaves no temp file behind.
    """
    target = Path(target)
    tmp = temp_name(target)
    try:
        if folder:
            tmp.mkdir()
        write(tmp)
        if not target.is_dir() or target.is_symlink():
            try:
                replace(tmp, target)
                return target
            except OSError:
                if not target.is_dir():
                    raise  # not the race of two folder writers: a real failure
        if keep is None or not keep(target):
            with swapped_in(tmp, target):
                pass
    finally:
        remove(tmp)
    return target


@contextmanager
def swapped_in(new, target, aside=None):
    """Rename the folder `new` onto `target`, an existing target first moved to `aside` (default: a temp name
    beside it); when the with-block fails, put both back. The old copy is deleted once the block succeeded."""
    target = Path(target)
    aside = Path(aside) if aside else temp_name(target, "old")
    had = target.exists() or target.is_symlink()
    if had:
        os.rename(target, aside)
    try:
        os.rename(new, target)
    except BaseException:
        if had:
            os.rename(aside, target)
        raise
    try:
        yield target
    except BaseException:
        os.rename(target, new)
        if had:
            os.rename(aside, target)
        raise
    if had:
        remove(aside)
