#!/usr/bin/env python
"""Check, import and generate the course datasets (see README, "Data").

    python data_download.py status                       what is there, what to do
    python data_download.py fashion-mnist                Fashion-MNIST: Debian's copy if installed, else download
    python data_download.py fashion-mnist --from PATH    import the four idx files (folder or zip, .gz or not)
    python data_download.py drive --from DRIVE.zip       import DRIVE (zip or folder, after registration)
    python data_download.py all-idb --from ALL_IDB.zip   import ALL-IDB (zip(s) or folder(s), on request)
    python data_download.py bccd [--from BCCD.zip]       BCCD blood smears: download (internet) or import
    python data_download.py synthetic                    generate the offline stand-ins
    python data_download.py resnet18-weights --from FILE import ResNet-18's ImageNet weights (no internet needed)

Installed as a package, the same command is `course-data` (or `python -m course_utils.data_download`).
Every command takes --root (default: $COURSE_DATA, else <repo>/data in a checkout and a per-user folder
for an installed package). Imports are atomic: only the files of the official layout are copied into a temp
folder inside the root, verified, given a sha256 manifest and only then renamed into place; an existing good
copy is replaced only with --force.
"""
import argparse
import os
import sys
from pathlib import Path

from .datasets.location import DATA_COMMAND, data_root, default_data_root

COMMANDS = {  # name: (help line, description, example)
    "status": ("show each dataset's state and what to do",
               "Report every dataset under the data root (present, absent, incomplete, checksum mismatch, corrupt), "
               "the synthetic stand-ins, the ResNet-18 weights and any temp folder an interrupted import left.",
               "status"),
    "synthetic": ("generate the offline stand-ins",
                  "Generate (or repair) the procedural stand-ins under <root>/synthetic; the notebooks use them "
                  "where the real data is absent.", "synthetic"),
    "fashion-mnist": ("import Fashion-MNIST (--from, Debian's copy, else download)",
                      "Import the four Fashion-MNIST idx files (a folder or zip, gzipped or not); without --from, "
                      "Debian's dataset-fashion-mnist copy, else torchvision's download.",
                      "fashion-mnist --from ~/Downloads/fashion-mnist"),
    "drive": ("import a DRIVE download",
              "Import DRIVE after registration at https://drive.grand-challenge.org/ (the zip, or both zips when "
              "training and test come separately, or the unpacked folder).", "drive --from ~/Downloads/DRIVE.zip"),
    "all-idb": ("import an ALL-IDB download",
                "Import ALL-IDB (ALL_IDB1 and ALL_IDB2, zips or folders), released on a signed request by the "
                "University of Milan.", "all-idb --from ~/Downloads/ALL_IDB1.zip ~/Downloads/ALL_IDB2.zip"),
    "bccd": ("download BCCD (internet), or import it with --from",
             "Download the BCCD blood smears (MIT licence) from GitHub, or import a downloaded zip or folder; "
             "checked against the pinned release.", "bccd --from ~/Downloads/BCCD_Dataset.zip"),
    "resnet18-weights": ("import torchvision's ResNet-18 ImageNet weights from a file",
                         "Check a downloaded resnet18-f37072fd.pth (sha256 prefix, plain tensors only, ResNet-18's "
                         "keys and shapes) and copy it into the torch hub cache ($TORCH_HOME), where torchvision and "
                         "notebooks 04 and 04b read it.", "resnet18-weights --from ~/Downloads/resnet18-f37072fd.pth"),
}
WITH_FORCE = ("fashion-mnist", "drive", "all-idb", "bccd")


def root_help():
    """--root's help, naming the default that applies here (COURSE_DATA when set)."""
    if os.environ.get("COURSE_DATA"):
        return f"data root (default: $COURSE_DATA = {os.environ['COURSE_DATA']})"
    return f"data root (default: $COURSE_DATA, else {default_data_root()})"


def build_parser():
    """The argparse command line (each subcommand takes --root); imports nothing heavy, so --help is fast."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, help=root_help())
    parser = argparse.ArgumentParser(prog=DATA_COMMAND, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for command, (what, description, example) in COMMANDS.items():
        sub = commands.add_parser(command, parents=[common], help=what, description=description,
                                  epilog=f"example: {DATA_COMMAND} {example}")
        if command in WITH_FORCE:
            sub.add_argument("--force", action="store_true", help="replace an existing good copy")
        if command == "resnet18-weights":
            sub.add_argument("--from", dest="sources", nargs=1, type=Path, required=True, metavar="FILE",
                             help="the downloaded resnet18-f37072fd.pth")
        elif command not in ("status", "synthetic"):
            sub.add_argument("--from", dest="sources", nargs="+", type=Path, help="zip file(s) or folder(s)")
    return parser


def run(args):
    """Dispatch one parsed command (the data layer and torch are imported only now)."""
    from . import data_commands as commands
    from . import weights
    root = args.root.expanduser().resolve() if args.root else data_root()
    if args.command == "status":
        commands.print_status(root, [weights.status_row(DATA_COMMAND)])
    elif args.command == "synthetic":
        commands.make_synthetic(root)
    elif args.command == "fashion-mnist":
        commands.get_fashion_mnist(args.sources, root, args.force)
    elif args.command == "bccd":
        commands.import_bccd(args.sources, root, args.force)
    elif args.command == "resnet18-weights":
        target = weights.import_weights(args.sources[0])
        print(f"imported {args.sources[0]} into {target}: sha256 prefix, keys and shapes checked; torchvision and "
              f"notebooks 04 and 04b now find the ImageNet weights without internet")
    else:
        commands.import_dataset(args.command.replace("-", "_"), args.sources, root, args.force)


def main(argv=None):
    """Entry point: exit 0 on success, 1 with one clear line for an expected failure, 130 when interrupted."""
    args = build_parser().parse_args(argv)
    from .datasets.reading import DataError
    from .weights import WeightsError
    try:
        run(args)
    except (DataError, WeightsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: temp files removed, any existing copy left as it was", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
