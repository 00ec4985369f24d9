"""What each subcommand of the data command does (data_download parses, this module acts): the dataset imports,
Fashion-MNIST's and BCCD's downloads, the synthetic stand-ins and the status report."""
import hashlib
import shutil
import urllib.request
from pathlib import Path

from .atomic import file_sha256
from .data_import import AGAIN, SEARCH_DEPTH, Plan, Tree, copy_stream, find_part, install, with_sources
from .datasets.catalog import (
    ALL_IDB_FOLDERS,
    BCCD_FOLDERS,
    DATASETS,
    DRIVE_NUMBERS,
    FASHION_COUNTS,
    FASHION_FILES,
    IMPORT_LIMIT_BYTES,
    drive_held_out_evaluation,
)
from .datasets.integrity import dataset_status, manifest_path, verify_dataset
from .datasets.layout import fashion_content_problem, has_drive_test_labels
from .datasets.reading import DataError
from .datasets.sources import FIX_REAL, FIX_SYNTHETIC


def top_folders(subfolders):
    """The distinct top-level folders of a dataset's sub-folders, sorted: what an import copies over."""
    return tuple(sorted({sub.split("/")[0] for sub in subfolders}))


PARTS = {"drive": tuple(DRIVE_NUMBERS), "all_idb": top_folders(ALL_IDB_FOLDERS.values())}
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


# ---------------------------------------------------------------- DRIVE and ALL-IDB
def import_dataset(dataset, sources, root, force):
    """`drive --from` / `all-idb --from`: import a downloaded zip or folder into <root>/<Name>."""
    if not sources:
        raise DataError(f"no --from path given. {REGISTER[dataset]}")

    def fill(staging, new):
        trees, plan = [Tree(s) for s in sources], Plan(dataset)
        for part in PARTS[dataset]:
            plan.add_folder(*find_part(trees, part), base=part)
        plan.check_room(new)
        return plan.copy(new)
    count = install(dataset, root, force, with_sources(sources, fill))
    print(f"imported {DATASETS[dataset]} into {root / DATASETS[dataset]}: {count} files verified, "
          f"manifest {manifest_path(root, dataset)}")
    if dataset == "drive" and not has_drive_test_labels(root / DATASETS["drive"]):
        print(f"note: this copy has no test labels (test/1st_manual); the {drive_held_out_evaluation()} instead")


# ---------------------------------------------------------------- Fashion-MNIST
def fashion_folders(tree):
    """{folder prefix: {idx name: path in the tree}} of the folders holding Fashion-MNIST files (plain or .gz)."""
    found = {}
    for rel in tree.files:
        folder, _, file = rel.rpartition("/")
        name = file.removesuffix(".gz")
        if name in FASHION_NAMES and folder.count("/") + bool(folder) <= SEARCH_DEPTH + 1:
            found.setdefault(folder, {}).setdefault(name, rel)
            if not file.endswith(".gz"):
                found[folder][name] = rel  # a plain file wins over its .gz
    return found


def find_fashion_folder(trees, sources):
    """(tree, {name: path}) of the one folder holding all four idx files; none or several is an error."""
    complete, partial = [], []
    for tree in trees:
        for folder, names in sorted(fashion_folders(tree).items()):
            (complete if len(names) == len(FASHION_NAMES) else partial).append((tree, folder, names))
    where = ", ".join(str(s) for s in sources)
    if len(complete) == 1:
        return complete[0][0], complete[0][2]
    if complete:
        raise DataError(f"several folders in {where} hold the four Fashion-MNIST files: "
                        f"{', '.join(t.where(f) for t, f, _ in complete)}. Fix: pass one of them")
    if partial:
        tree, folder, names = partial[0]
        missing = [f"{n}[.gz]" for n in FASHION_NAMES if n not in names]
        raise DataError(f"{tree.where(folder) if folder else tree.source} lacks {', '.join(missing)}. "
                        f"Fix: pass a folder holding all four files")
    raise DataError(f"no Fashion-MNIST files ({FASHION_NAMES[0]}[.gz], ...) within {SEARCH_DEPTH + 1} levels "
                    f"of {where}. Fix: pass the folder holding the four files")


def stage_fashion(sources, new):
    """Copy (or decompress) the four idx files into new/FashionMNIST/raw and check their content there;
    a problem is reported under the name of the file the user gave."""
    tree, names = find_fashion_folder([Tree(s) for s in sources], sources)
    raw = new / DATASETS["fashion_mnist"] / "raw"
    limit = IMPORT_LIMIT_BYTES["fashion_mnist"]
    plan = Plan("fashion_mnist")
    plan.files = {f"raw/{name}": (tree, path) for name, path in names.items()}
    plan.check_room(new)  # declared (for .gz: compressed) sizes; decompression stops at the ceiling too
    given = {}
    for name, path in names.items():
        packed = path.endswith(".gz")
        given[str(raw / name)] = tree.where(path) + (" (decompressed)" if packed else "")
        copy_stream(tree, path, raw / name, limit, decompress=packed)
    problem = fashion_content_problem(raw.parent, "real")
    if problem:
        for staged, name in given.items():
            problem = problem.replace(staged, name)
        raise DataError(f"{problem}; nothing was changed. Fix: get the original files again "
                        f"(apt-get install dataset-fashion-mnist, or {FASHION_NAMES[0]}.gz etc. from "
                        f"github.com/zalandoresearch/fashion-mnist)")
    return given


def import_fashion_mnist(sources, root, force):
    """`fashion-mnist --from PATH` (or Debian's copy): four idx files, gzipped or not, into <root>/FashionMNIST."""
    fill = with_sources(sources, lambda staging, new: stage_fashion(sources, new))
    count = install("fashion_mnist", root, force, fill)
    counts = " + ".join(f"{n:,}" for n in FASHION_COUNTS.values())
    raw = root / DATASETS["fashion_mnist"] / "raw"
    print(f"imported FashionMNIST from {', '.join(map(str, sources))} into {raw}: {count} files, {counts} "
          f"images, labels and classes checked; manifest {manifest_path(root, 'fashion_mnist')}")


def download_into(staging, new):
    """Download both Fashion-MNIST splits with torchvision into new/FashionMNIST/raw."""
    try:
        for train in (True, False):
            fashion_mnist_class()(new, train=train, download=True)
    except (RuntimeError, OSError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[-1]
        raise DataError(OFFLINE.format(reason=reason)) from error


def fashion_mnist_class():
    """torchvision's FashionMNIST (imported only when a download needs it: the command starts fast)."""
    from torchvision.datasets import FashionMNIST
    return FashionMNIST


def get_fashion_mnist(sources, root, force):
    """`fashion-mnist`: from --from, else Debian's installed copy, else torchvision's download."""
    if sources:
        return import_fashion_mnist(sources, root, force)
    if DEBIAN_FASHION.is_dir():
        print(f"using Debian's copy in {DEBIAN_FASHION} (package dataset-fashion-mnist)")
        return import_fashion_mnist([DEBIAN_FASHION], root, force)
    count = install("fashion_mnist", root, force, with_sources(["torchvision's download"], download_into))
    print(f"downloaded FashionMNIST into {root / DATASETS['fashion_mnist']}: {count} files, "
          f"manifest {manifest_path(root, 'fashion_mnist')}")


# ---------------------------------------------------------------- BCCD
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
    """Copy the BCCD data files of a zip or folder (downloaded when no source is given) into new/BCCD and check
    them against the pinned release."""
    trees = [Tree(s) for s in (sources or [download_bccd_zip(staging)])]
    tree, photos = find_part(trees, BCCD_FOLDERS["photos"])
    folder = photos.rpartition("/")[0]
    plan = Plan("bccd")
    plan.add_folder(tree, folder)
    parent = folder.rpartition("/")[0]
    licence = f"{parent}/LICENSE" if parent else "LICENSE"
    if "LICENSE" not in plan.files and licence in tree.files:  # the upstream zip keeps it next to the BCCD folder
        plan.files["LICENSE"] = (tree, licence)
    plan.check_room(new)
    origins = plan.copy(new)
    digest = bccd_digest(new / DATASETS["bccd"])
    if digest != BCCD_DIGEST:
        raise DataError(f"the BCCD files in {tree.where(folder) if folder else tree.source} differ from the release "
                        f"this course uses (commit {BCCD_COMMIT[:7]} of github.com/Shenggan/BCCD_Dataset; content "
                        f"digest {digest[:12]}, expected {BCCD_DIGEST[:12]}); nothing was changed. Fix: download "
                        f"{BCCD_URL} again")
    return origins


def import_bccd(sources, root, force):
    """`bccd [--from ...]`: import a BCCD zip or folder, or download it, into <root>/BCCD."""
    fill = with_sources(sources or [BCCD_URL], lambda staging, new: stage_bccd(sources, staging, new))
    count = install("bccd", root, force, fill)
    print(f"imported BCCD into {root / DATASETS['bccd']}: {count} files verified against commit {BCCD_COMMIT[:7]}, "
          f"manifest {manifest_path(root, 'bccd')}")


# ---------------------------------------------------------------- stand-ins and status
def make_synthetic(root):
    """`synthetic`: generate (or repair) every stand-in under <root>/synthetic and check them."""
    for dataset, name in DATASETS.items():
        folder = root / "synthetic" / name
        try:
            verify_dataset(dataset, root, source="synthetic")
        except DataError as error:
            if not folder.exists():
                raise  # it could not be generated (e.g. a read-only root): the message says what to do
            print(f"regenerating the synthetic {name}: {error}")
            try:
                shutil.rmtree(folder)
            except OSError as failure:
                raise DataError(f"cannot replace {folder} ({failure.strerror or failure}). Fix: point COURSE_DATA "
                                f"(or --root) at a writable folder, then {FIX_SYNTHETIC}") from None
            verify_dataset(dataset, root, source="synthetic")
        print(f"synthetic {name}: ready at {root / 'synthetic' / name}")


def print_status(root, extra_rows=()):
    """`status`: one line per dataset with its state and path, then what to do (columns sized to the rows)."""
    print(f"data root: {root}")
    rows = dataset_status(root)
    leftover = [row for row in rows if row["state"] == "leftover temp folder"]
    rows = [row for row in rows if row not in leftover] + list(extra_rows) + leftover
    first = max(len(row["dataset"]) for row in rows) + 2
    second = max(len(row["state"]) for row in rows) + 2
    for row in rows:
        print(f"{row['dataset']:<{first}}{row['state']:<{second}}{row['path']}")
        print(f"{'':<{first}}{row['detail']}")
        if row["action"] != "nothing":
            print(f"{'':<{first}}to do: {row['action']}")


__all__ = ["AGAIN", "import_dataset", "get_fashion_mnist", "import_bccd", "make_synthetic", "print_status"]
