"""Importing a downloaded dataset into the data root (the data command, data_download): only the files the official
layout names are copied, sizes and free space are checked first, nothing is followed out of the source, and the
copy is verified in a temp folder inside the root before it is renamed into place (atomic.swapped_in)."""
import errno
import gzip
import os
import shutil
import socket
import stat
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

from .atomic import swapped_in, write_atomically
from .datasets.catalog import DATASETS, IMPORT_LIMIT_BYTES
from .datasets.integrity import manifest_problem, verify_dataset, write_manifest
from .datasets.layout import layout_file, layout_near_miss
from .datasets.reading import DataError

SEARCH_DEPTH = 3  # part folders may sit e.g. at DRIVE/training or datasets/DRIVE/training
AGAIN = "Fix: download the archive again from the official site"
STALE_SECONDS = 24 * 3600  # a temp folder of another machine is left alone for a day


def _skipped(parts):
    """Hidden names and macOS's __MACOSX folders are never part of a dataset."""
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def check_members(names, archive):
    """Reject an archive with any absolute or '..' entry before anything is extracted."""
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
            raise DataError(f"refusing {archive}: unsafe entry {name!r} (absolute path or '..'); nothing "
                            f"was written. {AGAIN}")


class Tree:
    """The files of one --from source (a folder or a zip) by posix path inside it; symbolic links are never
    followed out of a folder, and a zip holding one is refused."""

    def __init__(self, source):
        self.source = Path(source).expanduser()
        self.files, self.outside, self.zip = {}, {}, None
        if self.source.is_dir():
            self._walk()
        elif not self.source.is_file():
            raise DataError(f"{self.source} does not exist. Fix: pass the downloaded zip or its unpacked folder")
        elif not zipfile.is_zipfile(self.source):
            raise DataError(f"{self.source} is neither a folder nor a zip file. Fix: unpack it and pass the folder")
        else:
            self._list_zip()

    def _walk(self):
        top = self.source.resolve()
        for folder, subfolders, names in os.walk(top):  # followlinks=False: linked folders are not entered
            subfolders[:] = sorted(d for d in subfolders if not _skipped([d]))
            for name in sorted(n for n in names if not _skipped([n])):
                path = Path(folder) / name
                rel = path.relative_to(top).as_posix()
                real = path.resolve()
                if path.is_symlink() and not real.is_relative_to(top):
                    self.outside[rel] = real
                elif real.is_file():
                    self.files[rel] = real.stat().st_size

    def _list_zip(self):
        try:
            self.zip = zipfile.ZipFile(self.source)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError) as error:
            raise DataError(f"{self.source} is not a readable zip file ({error}). {AGAIN}") from None
        check_members([i.filename for i in infos], self.source)
        for info in infos:
            if stat.S_ISLNK(info.external_attr >> 16):
                raise DataError(f"refusing {self.source}: entry {info.filename!r} is a symbolic link; nothing was "
                                f"written. {AGAIN}")
            if not info.is_dir() and not _skipped(info.filename.split("/")):
                self.files[info.filename] = info.file_size

    def where(self, rel):
        """How an error names one file: the path of a folder's file, or 'ZIP, entry NAME'."""
        return f"{self.source}, entry {rel}" if self.zip else str(self.source / rel)

    def open(self, rel):
        return self.zip.open(rel) if self.zip else open(self.source.resolve() / rel, "rb")

    def folders(self, name, depth=SEARCH_DEPTH):
        """Prefixes ('a/b/name', or '' for the source itself) of folders called name, at most depth levels down."""
        if self.zip is None and self.source.name == name:
            return [""]  # the folder given is the part itself; it is not searched further
        found = set()
        for rel in self.files:
            parts = rel.split("/")[:-1]
            found |= {"/".join(parts[:i + 1]) for i, part in enumerate(parts[:depth]) if part == name}
        return sorted(p for p in found if not any(p.startswith(q + "/") for q in found))

    def under(self, prefix):
        """{path relative to prefix: path in the tree} of every file below the folder prefix."""
        start = f"{prefix}/" if prefix else ""
        return {rel[len(start):]: rel for rel in self.files if rel.startswith(start)}


def find_part(trees, name):
    """(tree, prefix) of the one folder called name in the sources; none or several is an error naming them."""
    found = [(tree, prefix) for tree in trees for prefix in tree.folders(name)]
    if len(found) == 1:
        return found[0]
    where = ", ".join(str(t.source) for t in trees)
    if not found:
        raise DataError(f"no folder '{name}' within {SEARCH_DEPTH} levels of {where}: wrong layout. Fix: pass "
                        f"the official download (e.g. DRIVE/training, DRIVE/test or ALL_IDB1, ALL_IDB2)")
    names = ", ".join(t.where(p) for t, p in found)
    raise DataError(f"several folders called '{name}' in {where}: {names}. Fix: pass the dataset's own folder or zip")


class Plan:
    """What one import copies: {path inside the dataset folder: (tree, path in the tree)}, checked before any
    byte is written (layout names, near-miss names, links out of the source, declared sizes, free space)."""

    def __init__(self, dataset):
        self.dataset, self.name, self.files = dataset, DATASETS[dataset], {}

    def add_folder(self, tree, prefix, base=""):
        """Take the layout files below prefix as base/<relative path>; a near-miss name is an error."""
        misses = {}
        for rel, path in tree.under(prefix).items():
            dest = f"{base}/{rel}" if base else rel
            if layout_file(self.dataset, dest):
                self.files[dest] = (tree, path)
            elif layout_near_miss(self.dataset, dest):
                misses[layout_near_miss(self.dataset, dest)] = tree.where(path)
        for official, given in misses.items():
            if official not in self.files:
                raise DataError(f"{given} is not named as in the official release, which has "
                                f"{official.rpartition('/')[2]!r} (case or extension differ); nothing was written. "
                                f"Fix: rename it to that name, or download the archive again")
        start = f"{prefix}/" if prefix else ""
        for rel, real in tree.outside.items():
            if rel.startswith(start) and layout_file(self.dataset, f"{base}/{rel[len(start):]}".lstrip("/")):
                raise DataError(f"refusing {tree.source / rel}: a symbolic link to {real}, outside {tree.source}; "
                                f"nothing was copied. Fix: copy the file itself into the folder")

    def check_room(self, root):
        """Refuse sizes beyond the dataset's ceiling or beyond the free space of the root, before writing."""
        total = sum(tree.files[path] for tree, path in self.files.values())
        limit = IMPORT_LIMIT_BYTES[self.dataset]
        sources = ", ".join(sorted({str(tree.source) for tree, _ in self.files.values()}))
        if total > limit:
            raise DataError(f"{sources} declares {total / 1e6:,.0f} MB of {self.name} files, more than the "
                            f"{limit / 1e6:,.0f} MB the release can hold; nothing was written. {AGAIN}")
        free = shutil.disk_usage(root).free
        if total > free:
            raise DataError(f"not enough free space in {root} for {self.name}: {total / 1e6:,.0f} MB needed, "
                            f"{free / 1e6:,.0f} MB free; nothing was written. Fix: free some space, or import into "
                            f"another disk with --root (and point COURSE_DATA there)")

    def copy(self, new):
        """Copy every planned file into new/<Name>/...; returns {staged path: where it came from}."""
        origins = {}
        for dest, (tree, path) in sorted(self.files.items()):
            target = new / self.name / dest
            origins[str(target)] = tree.where(path)
            copy_stream(tree, path, target, tree.files[path])
        return origins


def write_error(error, target, given):
    """A DataError for a failed write: disk full or not writable, naming the file being copied and the fix."""
    if error.errno == errno.ENOSPC:
        return DataError(f"the disk filled up while copying {given} (into {target.parent}); nothing was changed. "
                         f"Fix: free some space, or import into another disk with --root")
    return DataError(f"cannot write {target} while copying {given} ({error.strerror or error}); nothing was changed. "
                     f"Fix: use a writable data root (--root, or COURSE_DATA)")


def copy_stream(tree, path, target, limit, decompress=False):
    """Copy (or gunzip) one file of a tree to target, at most `limit` bytes; errors name the source file."""
    given = tree.where(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tree.open(path) as packed, open(target, "wb") as out:
            source = gzip.GzipFile(fileobj=packed) if decompress else packed
            written = 0
            for block in iter(lambda: source.read(1 << 20), b""):
                written += len(block)
                if written > limit:
                    raise DataError(f"{given} holds more than {limit / 1e6:,.0f} MB, more than the release "
                                    f"can; nothing was changed. {AGAIN}")
                out.write(block)
    except DataError:
        raise
    except (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile) as error:
        kind = "gzip file" if decompress else "archive member"
        raise DataError(f"{given} is not a complete {kind} ({error}). Fix: download or copy it again"
                        + (", or pass the decompressed file" if decompress else "")) from None
    except OSError as error:
        if isinstance(error, (FileNotFoundError, PermissionError)) and not target.parent.exists():
            raise write_error(error, target, given) from None
        if error.errno in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM):
            raise write_error(error, target, given) from None
        raise DataError(f"cannot read {given} ({error.strerror or error}). Fix: copy it again") from None


def relabel(message, origins, new, name, sources):
    """A verification message with staged paths replaced by the file the user gave (or the import's sources)."""
    for staged in sorted(origins, key=len, reverse=True):
        message = message.replace(staged, origins[staged])
    return message.replace(str(new / name), f"{name} (imported from {', '.join(map(str, sources))})")


# ---------------------------------------------------------------- atomic installation
def copy_problem(dataset, root):
    """Why the copy already under root is not good (decoding or checksum), or None when it is good."""
    try:
        verify_dataset(dataset, root)
    except DataError as error:
        return str(error)
    return manifest_problem(root, dataset)


def refuse_good_copy(dataset, root, force):
    """Stop when a verified copy is in place and --force was not given; say when a bad copy gets replaced."""
    target = root / DATASETS[dataset]
    if force or not target.exists():
        return
    problem = copy_problem(dataset, root)
    if problem is None:
        raise DataError(f"{target} is already present and verified; nothing changed. Fix: add --force to replace it")
    print(f"the existing copy at {target} is not usable and will be replaced: {problem}")


def make_root(root, name):
    """Create the data root if needed and a temp folder .import-<name>-* in it: (top-most folder created or None,
    temp folder); an unwritable root is a DataError with the fix."""
    created = None
    for folder in [root, *root.parents][::-1]:
        if not folder.exists():
            created = created or folder
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".import-{name}-", dir=root))
    except OSError as error:
        remove_empty(created, root)
        raise DataError(f"cannot write into the data root {root} ({error.strerror or error}); nothing was changed. "
                        f"Fix: pass a writable folder with --root (and point COURSE_DATA at it)") from None
    return created, staging


def remove_empty(created, root):
    """Remove the folders a failed import created for the root, if they are still empty."""
    if created is None:
        return
    for folder in [root, *root.parents]:
        try:
            folder.rmdir()
        except OSError:
            return
        if folder == created:
            return


def install(dataset, root, force, fill):
    """Fill a temp folder inside root, verify it, write its manifest, rename it into place (every import).

    fill(staging, new) copies the files into new/<Name> and returns {staged path: the file it came from}."""
    name = DATASETS[dataset]
    refuse_good_copy(dataset, root, force)
    created, staging = make_root(root, name)
    (staging / "owner").write_text(f"{socket.gethostname()} {os.getpid()}\n")
    done = False
    try:
        new = staging / "new"
        new.mkdir()
        origins = fill(staging, new) or {}
        try:
            verify_dataset(dataset, new)
        except DataError as error:
            raise DataError(relabel(str(error), origins, new, name, fill.sources)) from None
        count = write_manifest(new, name, new / f"{name}.sha256")
        (staging / "old").mkdir()
        with swapped_in(new / name, root / name, staging / "old" / name):
            write_atomically(root / f"{name}.sha256", lambda tmp: shutil.copyfile(new / f"{name}.sha256", tmp))
        done = True
    except OSError as error:
        raise write_error(error, root / name, f"{name} into {root}") from error
    finally:
        clean_up(staging, root / name)
        if not done:
            remove_empty(created, root)
    clean_leftovers(root)
    return count


def clean_up(staging, target):
    """Delete the temp folder, unless a failed roll-back left the only old copy inside it."""
    kept = staging / "old" / target.name
    if kept.exists() and not target.exists():
        print(f"warning: the previous copy could not be put back; it is at {kept}", file=sys.stderr)
        return
    shutil.rmtree(staging, ignore_errors=True)


def _alive(owner):
    """True unless the owner file names a process of this machine that is gone (or is older than a day)."""
    host, _, pid = owner.read_text().strip().partition(" ") if owner.is_file() else ("", "", "")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return time.time() - owner.parent.stat().st_mtime < (STALE_SECONDS if host else 60)


def clean_leftovers(root):
    """Remove temp folders that interrupted imports left in root, except one holding the only old copy."""
    for folder in sorted(root.glob(".import-*")):
        try:
            old = [p for p in (folder / "old").iterdir()] if (folder / "old").is_dir() else []
            if _alive(folder / "owner") or any(not (root / p.name).exists() for p in old):
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        print(f"removed {folder}, left by an interrupted import")


def with_sources(sources, fill):
    """Attach the --from paths to a fill function (install names them in its messages)."""
    fill.sources = list(sources)
    return fill
