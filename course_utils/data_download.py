#!/usr/bin/env python
"""Check, import and generate the course datasets (see README, "Data").

    python data_download.py status                       what is there, what to do
    python data_download.py fashion-mnist                download Fashion-MNIST (needs internet)
    python data_download.py drive --from DRIVE.zip       import DRIVE (zip or folder, after registration)
    python data_download.py all-idb --from ALL_IDB.zip   import ALL-IDB (zip(s) or folder(s), on request)
    python data_download.py synthetic                    generate the offline stand-ins

Installed as a package, the same command is `course-data` (or `python -m course_utils.data_download`).
Every command takes --root (default: $COURSE_DATA, else <repo>/data in a checkout and a per-user folder
for an installed package). Imports are atomic: files are unpacked into a temp folder inside the root,
verified, given a sha256 manifest and only then renamed into place; an existing good copy is replaced only
with --force.
"""
import argparse
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from torchvision.datasets import FashionMNIST

from . import data, runtime

PARTS = {"drive": ("training", "test"), "all_idb": ("ALL_IDB1", "ALL_IDB2")}
SEARCH_DEPTH = 3  # part folders may sit e.g. at DRIVE/training or datasets/DRIVE/training
REGISTER = {
    "drive": "DRIVE is handed out after registration at https://drive.grand-challenge.org/ . Download it, then "
             f"run: {runtime.DATA_COMMAND} drive --from ~/Downloads/DRIVE.zip  (a zip or an unpacked folder; "
             "give both paths if training and test come as separate zips)",
    "all_idb": "ALL-IDB is released by the University of Milan on a signed request: https://scotti.di.unimi.it/all/ "
               f"(non-commercial research; do not redistribute). Then run: {runtime.DATA_COMMAND} all-idb "
               "--from ~/Downloads/ALL_IDB1.zip ~/Downloads/ALL_IDB2.zip",
}
OFFLINE = ("could not download Fashion-MNIST: this machine seems to be offline ({reason}). The notebooks fall "
           "back to the synthetic stand-in (" + runtime.DATA_COMMAND + " synthetic); run this command again on a "
           "machine with internet access to get the real data.")


# ---------------------------------------------------------------- unpacking and finding the dataset
def check_members(names, archive):
    """Reject an archive with any absolute or '..' entry before anything is extracted."""
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in parts:
            raise data.DataError(f"refusing {archive}: unsafe entry {name!r} (absolute path or '..'); nothing "
                                 f"was written. Fix: download the archive again from the official site")


def unpack(source, dest):
    """Folder to search for the dataset: a folder itself, or a zip checked and extracted into dest."""
    source = Path(source).expanduser()
    if source.is_dir():
        return source
    if not source.is_file():
        raise data.DataError(f"{source} does not exist. Fix: pass the downloaded zip or its unpacked folder")
    if not zipfile.is_zipfile(source):
        raise data.DataError(f"{source} is neither a folder nor a zip file. Fix: unpack it and pass the folder")
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
        raise data.DataError(f"no folder '{name}' within {SEARCH_DEPTH} levels of {where}: wrong layout. Fix: "
                             f"pass the official download (e.g. DRIVE/training, DRIVE/test or ALL_IDB1, ALL_IDB2)")
    raise data.DataError(f"several folders called '{name}' in {where}: {', '.join(map(str, found))}. "
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
        copy_files(find_part(tops, part, sources), new / data.DATASETS[dataset] / part)


# ---------------------------------------------------------------- atomic installation
def copy_problem(dataset, root):
    """Why the copy already under root is not good (decoding or checksum), or None when it is good."""
    try:
        data.verify_dataset(dataset, root)
    except data.DataError as error:
        return str(error)
    return data.manifest_problem(root, dataset)


def refuse_good_copy(dataset, root, force):
    """Stop when a verified copy is in place and --force was not given; say when a bad copy gets replaced."""
    target = root / data.DATASETS[dataset]
    if force or not target.exists():
        return
    problem = copy_problem(dataset, root)
    if problem is None:
        raise data.DataError(f"{target} is already present and verified; nothing changed. "
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
    name = data.DATASETS[dataset]
    refuse_good_copy(dataset, root, force)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".import-{name}-", dir=root))
    try:
        new = staging / "new"
        new.mkdir()
        fill(staging, new)
        data.verify_dataset(dataset, new)
        count = data.write_manifest(new, name, new / f"{name}.sha256")
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
        raise data.DataError(f"no --from path given. {REGISTER[dataset]}")
    count = install(dataset, root, force, lambda staging, new: stage_import(dataset, sources, staging, new))
    print(f"imported {data.DATASETS[dataset]} into {root / data.DATASETS[dataset]}: {count} files verified, "
          f"manifest {data.manifest_path(root, dataset)}")
    if dataset == "drive" and not (root / "DRIVE" / "test" / "1st_manual").is_dir():
        print("note: this copy has no test labels (test/1st_manual); the notebooks evaluate on held-out "
              "training images 34-40 instead")


def download_into(staging, new):
    """Download both Fashion-MNIST splits with torchvision into new/FashionMNIST/raw."""
    try:
        for train in (True, False):
            FashionMNIST(new, train=train, download=True)
    except (RuntimeError, OSError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[-1]
        raise data.DataError(OFFLINE.format(reason=reason)) from error


def download_fashion_mnist(root, force):
    """`fashion-mnist`: torchvision download into <root>/FashionMNIST, verified and with a manifest."""
    count = install("fashion_mnist", root, force, download_into)
    print(f"downloaded FashionMNIST into {root / 'FashionMNIST'}: {count} files, "
          f"manifest {data.manifest_path(root, 'fashion_mnist')}")


def make_synthetic(root):
    """`synthetic`: generate (or repair) all three stand-ins under <root>/synthetic and check them."""
    for dataset, name in data.DATASETS.items():
        try:
            data.verify_dataset(dataset, root, source="synthetic")
        except data.DataError as error:
            print(f"regenerating the synthetic {name}: {error}")
            shutil.rmtree(root / "synthetic" / name)
            data.verify_dataset(dataset, root, source="synthetic")
        print(f"synthetic {name}: ready at {root / 'synthetic' / name}")


def print_status(root):
    """`status`: one line per dataset with its state and path, then what to do."""
    print(f"data root: {root}")
    for row in data.dataset_status(root):
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
    for command, what in (("fashion-mnist", "download the real Fashion-MNIST (needs internet)"),
                          ("drive", "import a DRIVE download"), ("all-idb", "import an ALL-IDB download")):
        sub = commands.add_parser(command, parents=[common], help=what)
        sub.add_argument("--force", action="store_true", help="replace an existing good copy")
        if command != "fashion-mnist":
            sub.add_argument("--from", dest="sources", nargs="+", type=Path, help="zip file(s) or folder(s)")
    return parser


def run(args):
    """Dispatch one parsed command."""
    root = args.root.expanduser().resolve() if args.root else runtime.data_root()
    if args.command == "status":
        print_status(root)
    elif args.command == "synthetic":
        make_synthetic(root)
    elif args.command == "fashion-mnist":
        download_fashion_mnist(root, args.force)
    else:
        import_dataset(args.command.replace("-", "_"), args.sources, root, args.force)


def main(argv=None):
    """Entry point: exit 0 on success, 1 with one clear line for an expected failure, 130 when interrupted."""
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except data.DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: temp files removed, any existing copy left as it was", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
