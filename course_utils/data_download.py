#!/usr/bin/env python
"""Check, import and generate the course datasets (see README, "Data").

    python data_download.py status                       what is there, what to do
    python data_download.py fashion-mnist                Fashion-MNIST: Debian's copy if installed, else download
    python data_download.py fashion-mnist --from PATH    import the four idx files (folder or zip, .gz or not)
    python data_download.py drive --from DRIVE.zip       import DRIVE (zip or folder, after registration)
    python data_download.py all-idb --from ALL_IDB.zip   import ALL-IDB (zip(s) or folder(s), on request)
    python data_download.py bccd [--from BCCD.zip]       BCCD blood smears: download (internet) or import
    python data_download.py synthetic                    generate the offline stand-ins

Installed as a package, the same command is `course-data` (or `python -m course_utils.data_download`).
Every command takes --root (default: $COURSE_DATA, else <repo>/data in a checkout and a per-user folder
for an installed package). Imports are atomic: files are unpacked into a temp folder inside the root,
verified, given a sha256 manifest and only then renamed into place; an existing good copy is replaced only
with --force.
"""
import argparse
import gzip
import hashlib
import os
import re
import shutil
import sys
import tempfile
import urllib.request
import zipfile
import zlib
from pathlib import Path

from torchvision.datasets import FashionMNIST

from .datasets.catalog import (
    ALL_IDB_FOLDERS,
    BCCD_FOLDERS,
    DATASETS,
    DRIVE_NUMBERS,
    FASHION_COUNTS,
    FASHION_FILES,
    drive_held_out_evaluation,
)
from .datasets.integrity import (
    dataset_status,
    file_sha256,
    manifest_path,
    manifest_problem,
    verify_dataset,
    write_manifest,
)
from .datasets.layout import fashion_content_problem, has_drive_test_labels
from .datasets.location import data_root
from .datasets.reading import DataError
from .datasets.sources import FIX_REAL, FIX_SYNTHETIC


def top_folders(subfolders):
    """The distinct top-level folders of a dataset's sub-folders, sorted: what an import copies over."""
    return tuple(sorted({sub.split("/")[0] for sub in subfolders}))


PARTS = {"drive": tuple(DRIVE_NUMBERS), "all_idb": top_folders(ALL_IDB_FOLDERS.values())}
SEARCH_DEPTH = 3  # part folders may sit e.g. at DRIVE/training or datasets/DRIVE/training
REGISTER = {
    "drive": "DRIVE is handed out after registration at https://drive.grand-challenge.org/ . Download it, then "
             f"run: {FIX_REAL['drive']}  (a zip or an unpacked folder; "
             "give both paths if training and test come as separate zips)",
    "all_idb": "ALL-IDB is released by the University of Milan on a signed request: https://scotti.di.unimi.it/all/ "
               f"(non-commercial research; do not redistribute). Then run: {FIX_REAL['all_idb']}",
}
BCCD_COMMIT = "d272fb14cdff6e473fafeeeba32aba5f560e9e43"  # github.com/Shenggan/BCCD_Dataset, MIT licence
BCCD_URL = f"https://github.com/Shenggan/BCCD_Dataset/archive/{BCCD_COMMIT}.zip"
BCCD_PARTS = top_folders(BCCD_FOLDERS.values())
# sha256 of the sorted "sha256  relative/path" lines of that commit's 732 data files (see bccd_digest)
BCCD_DIGEST = "debd2d76b13c300a3999f96a08cbe9ada5f231c3f882f9877a65a01a695872d1"
OFFLINE = ("could not download Fashion-MNIST: this machine seems to be offline ({reason}). The notebooks fall "
           "back to the synthetic stand-in (" + FIX_SYNTHETIC + "). To get the real data "
           "offline: apt-get install dataset-fashion-mnist (Debian/Ubuntu) and run this command again, or copy the "
           "four files (train-images-idx3-ubyte.gz, ...) from another machine and run "
           + FIX_REAL["fashion_mnist"] + " --from FOLDER")
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")  # Debian/Ubuntu package dataset-fashion-mnist
FASHION_NAMES = tuple(FASHION_FILES)


# ---------------------------------------------------------------- unpacking and finding the dataset
def check_members(names, archive):
    """Reject an archive with any absolute or '..' entry before anything is extracted."""
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in parts:
            raise DataError(f"refusing {archive}: unsafe entry {name!r} (absolute path or '..'); nothing "
                                 f"was written. Fix: download the archive again from the official site")


def unpack(source, dest):
    """Folder to search for the dataset: a folder itself, or a zip checked and extracted into dest."""
    source = Path(source).expanduser()
    if source.is_dir():
        return source
    if not source.is_file():
        raise DataError(f"{source} does not exist. Fix: pass the downloaded zip or its unpacked folder")
    if not zipfile.is_zipfile(source):
        raise DataError(f"{source} is neither a folder nor a zip file. Fix: unpack it and pass the folder")
    with zipfile.ZipFile(source) as archive:
        check_members(archive.namelist(), source)
        archive.extractall(dest)
    return dest


def _subfolders(folder):
    """Visible subfolders of a folder (macOS __MACOSX and hidden ones skipped; unreadable ones ignored)."""
    try:
        return sorted(p for p in folder.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and p.name != "__MACOSX")
    except OSError:
        return []


def find_folders(tops, name, depth=SEARCH_DEPTH):
    """Folders called name at most depth levels below each top folder (the tops themselves included)."""
    found, level = [], [Path(top) for top in tops]
    for _ in range(depth + 1):
        found += [p for p in level if p.name == name]
        level = [child for p in level if p.name != name for child in _subfolders(p)]
    return found


def find_part(tops, name, sources):
    """The one folder called name inside the sources; none or several is an error naming them."""
    found = find_folders(tops, name)
    if len(found) == 1:
        return found[0]
    where = ", ".join(str(s) for s in sources)
    if not found:
        raise DataError(f"no folder '{name}' within {SEARCH_DEPTH} levels of {where}: wrong layout. Fix: "
                             f"pass the official download (e.g. DRIVE/training, DRIVE/test or ALL_IDB1, ALL_IDB2)")
    raise DataError(f"several folders called '{name}' in {where}: {', '.join(map(str, found))}. "
                         f"Fix: pass the dataset's own folder or zip")


def copy_files(source, dest):
    """Copy the visible files below source to dest (contents only: no permissions, so a copy of a
    read-only tree stays deletable)."""
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def stage_import(dataset, sources, staging, new):
    """Unpack the sources under staging and copy each part folder into new/<Name>/<part>."""
    tops = [unpack(source, staging / f"unpacked{i}") for i, source in enumerate(sources)]
    for part in PARTS[dataset]:
        copy_files(find_part(tops, part, sources), new / DATASETS[dataset] / part)


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
        raise DataError(f"{target} is already present and verified; nothing changed. "
                             f"Fix: add --force to replace it")
    print(f"the existing copy at {target} is not usable and will be replaced: {problem}")


def swap_in(name, root, staging):
    """Move the old copy aside (into staging/old), rename the new one into place, then its manifest;
    any failure puts the old copy back."""
    target, new, old = root / name, staging / "new", staging / "old"
    old.mkdir()
    moved = []
    try:
        if target.exists():
            os.rename(target, old / name)
            moved.append("old")
        os.rename(new / name, target)
        moved.append("new")
        os.replace(new / f"{name}.sha256", root / f"{name}.sha256")
    except BaseException:
        if "new" in moved:
            os.rename(target, new / name)
        if "old" in moved:
            os.rename(old / name, target)
        raise


def install(dataset, root, force, fill):
    """Fill a temp folder inside root, verify it, write its manifest, rename it into place (every import)."""
    name = DATASETS[dataset]
    refuse_good_copy(dataset, root, force)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".import-{name}-", dir=root))
    try:
        new = staging / "new"
        new.mkdir()
        fill(staging, new)
        verify_dataset(dataset, new)
        count = write_manifest(new, name, new / f"{name}.sha256")
        swap_in(name, root, staging)
    finally:
        clean_up(staging, root / name)
    return count


def clean_up(staging, target):
    """Delete the temp folder, unless a failed roll-back left the only old copy inside it."""
    kept = staging / "old" / target.name
    if kept.exists() and not target.exists():
        print(f"warning: the previous copy could not be put back; it is at {kept}", file=sys.stderr)
        return
    shutil.rmtree(staging, ignore_errors=True)


# ---------------------------------------------------------------- commands
def import_dataset(dataset, sources, root, force):
    """`drive --from` / `all-idb --from`: import a downloaded zip or folder into <root>/<Name>."""
    if not sources:
        raise DataError(f"no --from path given. {REGISTER[dataset]}")
    count = install(dataset, root, force, lambda staging, new: stage_import(dataset, sources, staging, new))
    print(f"imported {DATASETS[dataset]} into {root / DATASETS[dataset]}: {count} files verified, "
          f"manifest {manifest_path(root, dataset)}")
    if dataset == "drive" and not has_drive_test_labels(root / DATASETS["drive"]):
        print(f"note: this copy has no test labels (test/1st_manual); the {drive_held_out_evaluation()} instead")


def fashion_sets(folder):
    """Which of the four idx files (plain or .gz) a folder holds."""
    return {name for name in FASHION_NAMES if (folder / name).is_file() or (folder / f"{name}.gz").is_file()}


def find_fashion_folder(tops, sources):
    """The one folder within SEARCH_DEPTH + 1 levels of the tops that holds all four idx files (layouts
    FashionMNIST/raw, flat, fashion/ ...); none or several is an error naming what was found."""
    complete, partial, level = [], [], [Path(top) for top in tops]
    for _ in range(SEARCH_DEPTH + 2):
        for folder in level:
            found = fashion_sets(folder)
            if len(found) == len(FASHION_NAMES):
                complete.append(folder)
            elif found:
                partial.append((folder, found))
        level = [child for folder in level for child in _subfolders(folder)]
    where = ", ".join(str(s) for s in sources)
    if len(complete) == 1:
        return complete[0]
    if complete:
        raise DataError(f"several folders in {where} hold the four Fashion-MNIST files: "
                             f"{', '.join(map(str, complete))}. Fix: pass one of them")
    if partial:
        folder, found = partial[0]
        missing = [f"{n}[.gz]" for n in FASHION_NAMES if n not in found]
        raise DataError(f"{folder} lacks {', '.join(missing)}. Fix: pass a folder holding all four files")
    raise DataError(f"no Fashion-MNIST files ({FASHION_NAMES[0]}[.gz], ...) within {SEARCH_DEPTH + 1} levels "
                         f"of {where}. Fix: pass the folder holding the four files")


def gunzip(source, target):
    """Decompress one .gz file; a damaged or truncated archive is a DataError naming it."""
    try:
        with gzip.open(source) as packed, open(target, "wb") as plain:
            shutil.copyfileobj(packed, plain, 1 << 20)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{source} is not a complete gzip file ({error}). Fix: download or copy it again, "
                             f"or pass the decompressed file") from None


def stage_fashion(sources, staging, new):
    """Copy (or decompress) the four idx files into new/FashionMNIST/raw and check their content there;
    a problem is reported under the name of the file the user gave."""
    folder = find_fashion_folder([unpack(s, staging / f"unpacked{i}") for i, s in enumerate(sources)], sources)
    raw = new / DATASETS["fashion_mnist"] / "raw"
    raw.mkdir(parents=True)
    given = {}
    for name in FASHION_NAMES:
        if (folder / name).is_file():
            given[name] = str(folder / name)
            shutil.copyfile(folder / name, raw / name)
        else:
            given[name] = f"{folder / name}.gz (decompressed)"
            gunzip(folder / f"{name}.gz", raw / name)
    problem = fashion_content_problem(raw.parent, "real")
    if problem:
        for name in FASHION_NAMES:
            problem = problem.replace(str(raw / name), given[name])
        raise DataError(f"{problem}; nothing was changed. Fix: get the original files again "
                             f"(apt-get install dataset-fashion-mnist, or {FASHION_NAMES[0]}.gz etc. from "
                             f"github.com/zalandoresearch/fashion-mnist)")
    return folder


def import_fashion_mnist(sources, root, force):
    """`fashion-mnist --from PATH` (or Debian's copy): four idx files, gzipped or not, into <root>/FashionMNIST."""
    found = []
    count = install("fashion_mnist", root, force,
                    lambda staging, new: found.append(stage_fashion(sources, staging, new)))
    counts = " + ".join(f"{n:,}" for n in FASHION_COUNTS.values())
    raw = root / DATASETS["fashion_mnist"] / "raw"
    print(f"imported FashionMNIST from {found[0]} into {raw}: {count} files, {counts} "
          f"images, labels and classes checked; manifest {manifest_path(root, 'fashion_mnist')}")


def download_into(staging, new):
    """Download both Fashion-MNIST splits with torchvision into new/FashionMNIST/raw."""
    try:
        for train in (True, False):
            FashionMNIST(new, train=train, download=True)
    except (RuntimeError, OSError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[-1]
        raise DataError(OFFLINE.format(reason=reason)) from error


def get_fashion_mnist(sources, root, force):
    """`fashion-mnist`: from --from, else Debian's installed copy, else torchvision's download."""
    if sources:
        return import_fashion_mnist(sources, root, force)
    if DEBIAN_FASHION.is_dir():
        print(f"using Debian's copy in {DEBIAN_FASHION} (package dataset-fashion-mnist)")
        return import_fashion_mnist([DEBIAN_FASHION], root, force)
    download_fashion_mnist(root, force)


def bccd_digest(folder):
    """sha256 over the sorted "sha256  relative/path" lines of a BCCD folder's data files: photographs,
    annotations, split lists (release check)."""
    files = sorted((p.relative_to(folder).as_posix(), p) for part in BCCD_PARTS
                   for p in (Path(folder) / part).rglob("*") if p.is_file() and not p.name.startswith("."))
    lines = "".join(f"{file_sha256(p)}  {rel}\n" for rel, p in files)
    return hashlib.sha256(lines.encode()).hexdigest()


def download_bccd_zip(staging):
    """Fetch the pinned BCCD commit's zip from GitHub into staging; offline gives a DataError with the fix."""
    target = staging / "BCCD_Dataset.zip"
    try:
        urllib.request.urlretrieve(BCCD_URL, target)
    except OSError as error:
        raise DataError(f"could not download BCCD from {BCCD_URL}: this machine seems to be offline "
                             f"({error}). Fix: download that zip on a connected machine, then run: "
                             f"{FIX_REAL['bccd']} --from BCCD_Dataset.zip") from error
    return target


def stage_bccd(sources, staging, new):
    """Unpack the BCCD zip or folder (downloaded when no source is given), copy its data files into new/BCCD
    and check them against the pinned release."""
    sources = sources or [download_bccd_zip(staging)]
    tops = [unpack(source, staging / f"unpacked{i}") for i, source in enumerate(sources)]
    folder = find_part(tops, BCCD_FOLDERS["photos"], sources).parent
    for part in BCCD_PARTS:
        if (folder / part).is_dir():
            copy_files(folder / part, new / DATASETS["bccd"] / part)
    licence = next((p for p in (folder / "LICENSE", folder.parent / "LICENSE") if p.is_file()), None)
    if licence is not None:  # the upstream zip keeps it next to the BCCD folder
        shutil.copyfile(licence, new / DATASETS["bccd"] / "LICENSE")
    digest = bccd_digest(new / DATASETS["bccd"])
    if digest != BCCD_DIGEST:
        raise DataError(f"the BCCD files in {folder} differ from the release this course uses (commit "
                             f"{BCCD_COMMIT[:7]} of github.com/Shenggan/BCCD_Dataset; content digest {digest[:12]}, "
                             f"expected {BCCD_DIGEST[:12]}); nothing was changed. Fix: download {BCCD_URL} again")


def import_bccd(sources, root, force):
    """`bccd [--from ...]`: import a BCCD zip or folder, or download it, into <root>/BCCD."""
    count = install("bccd", root, force, lambda staging, new: stage_bccd(sources, staging, new))
    print(f"imported BCCD into {root / DATASETS['bccd']}: {count} files verified against commit {BCCD_COMMIT[:7]}, "
          f"manifest {manifest_path(root, 'bccd')}")


def download_fashion_mnist(root, force):
    """torchvision download into <root>/FashionMNIST, verified and with a manifest (no local copy found)."""
    count = install("fashion_mnist", root, force, download_into)
    print(f"downloaded FashionMNIST into {root / DATASETS['fashion_mnist']}: {count} files, "
          f"manifest {manifest_path(root, 'fashion_mnist')}")


def make_synthetic(root):
    """`synthetic`: generate (or repair) every stand-in under <root>/synthetic and check them."""
    for dataset, name in DATASETS.items():
        try:
            verify_dataset(dataset, root, source="synthetic")
        except DataError as error:
            print(f"regenerating the synthetic {name}: {error}")
            shutil.rmtree(root / "synthetic" / name)
            verify_dataset(dataset, root, source="synthetic")
        print(f"synthetic {name}: ready at {root / 'synthetic' / name}")


def print_status(root):
    """`status`: one line per dataset with its state and path, then what to do."""
    print(f"data root: {root}")
    for row in dataset_status(root):
        print(f"{row['dataset']:<14}{row['state']:<19}{row['path']}")
        print(f"{'':<14}{row['detail']}")
        if row["action"] != "nothing":
            print(f"{'':<14}to do: {row['action']}")


def build_parser():
    """The argparse command line (each subcommand takes --root)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, help="data root (default: $COURSE_DATA, else <repo>/data)")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", parents=[common], help="show each dataset's state and what to do")
    commands.add_parser("synthetic", parents=[common], help="generate the offline stand-ins")
    for command, what in (("fashion-mnist", "import Fashion-MNIST (--from, Debian's copy, else download)"),
                          ("drive", "import a DRIVE download"), ("all-idb", "import an ALL-IDB download"),
                          ("bccd", "download BCCD (internet), or import it with --from")):
        sub = commands.add_parser(command, parents=[common], help=what)
        sub.add_argument("--force", action="store_true", help="replace an existing good copy")
        sub.add_argument("--from", dest="sources", nargs="+", type=Path, help="zip file(s) or folder(s)")
    return parser


def run(args):
    """Dispatch one parsed command."""
    root = args.root.expanduser().resolve() if args.root else data_root()
    if args.command == "status":
        print_status(root)
    elif args.command == "synthetic":
        make_synthetic(root)
    elif args.command == "fashion-mnist":
        get_fashion_mnist(args.sources, root, args.force)
    elif args.command == "bccd":
        import_bccd(args.sources, root, args.force)
    else:
        import_dataset(args.command.replace("-", "_"), args.sources, root, args.force)


def main(argv=None):
    """Entry point: exit 0 on success, 1 with one clear line for an expected failure, 130 when interrupted."""
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: temp files removed, any existing copy left as it was", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
