"""Real data or synthetic stand-in: which source a notebook gets, the folder it reads, and the command that
fixes a missing or bad copy (runtime.start and every loader)."""
from .catalog import DATASETS, SOURCES, SYNTHETIC
from .layout import structure_problem
from .location import DATA_COMMAND, data_root
from .reading import DataError
from .standins import MAKERS

FIX_REAL = {
    "fashion_mnist": f"{DATA_COMMAND} fashion-mnist",
    "drive": f"{DATA_COMMAND} drive --from ~/Downloads/DRIVE.zip",
    "all_idb": f"{DATA_COMMAND} all-idb --from ~/Downloads/ALL_IDB1.zip ~/Downloads/ALL_IDB2.zip",
    "bccd": f"{DATA_COMMAND} bccd",
}
FIX_SYNTHETIC = f"{DATA_COMMAND} synthetic"


def _check_names(dataset, data_source):
    """Reject an unknown dataset or data_source with a message listing the valid values."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {sorted(DATASETS)}")
    if data_source not in SOURCES:
        raise ValueError(f"unknown data_source {data_source!r}; use one of {SOURCES}, e.g. data_source = \"auto\"")


def fix_command(dataset, source):
    """The command that (re)creates a dataset's files, quoted in every error message."""
    return FIX_SYNTHETIC if source == SYNTHETIC else FIX_REAL[dataset]


def real_problem(dataset, root=None):
    """Why the real copy under root is unusable (a sentence naming the file/folder), or None when complete."""
    folder = data_root(root) / DATASETS[dataset]
    if not folder.is_dir():
        return f"{DATASETS[dataset]} is absent: no folder {folder}"
    return structure_problem(dataset, folder, "real")


def resolve_source(dataset, data_source="auto", root=None):
    """Pick "real" or "synthetic" for a data_source, checking the names first (every loader)."""
    _check_names(dataset, data_source)
    return pick_source(dataset, data_source, root)


def pick_source(dataset, data_source, root=None):
    """"real" or "synthetic" for an already checked data_source (runtime.start checks it once, then calls this);
    "real" without a usable copy is a DataError naming the folder and the import command."""
    if data_source == SYNTHETIC:
        return SYNTHETIC
    problem = real_problem(dataset, root)
    if problem is None:
        return "real"
    if data_source == "real":
        raise DataError(f"{problem}. Fix: {fix_command(dataset, 'real')}")
    return SYNTHETIC


def _generate(dataset, out_dir):
    """Write the synthetic stand-in of one dataset under out_dir; a read-only root gives a DataError."""
    print(f"generating the synthetic {DATASETS[dataset]} stand-in under {out_dir} (first use only) ...")
    try:
        MAKERS[dataset](out_dir, seed=0)
    except OSError as error:
        raise DataError(f"cannot write the synthetic stand-in under {out_dir} ({error}). Fix: point COURSE_DATA "
                        f"at a writable folder (export COURSE_DATA=~/course_data), then {FIX_SYNTHETIC}") from error


def dataset_folder(dataset, source, root):
    """Folder a loader reads: <root>/<Name> (real) or <root>/synthetic/<Name>, generated on first use."""
    if source == "real":
        return root / DATASETS[dataset]
    folder = root / SYNTHETIC / DATASETS[dataset]
    if not folder.exists():
        _generate(dataset, root / SYNTHETIC)
    return folder


def prepare(dataset, source, root):
    """Resolve the source, find (or generate) the folder and check its structure: (source, folder, fix)."""
    root = data_root(root)
    source = resolve_source(dataset, source, root)
    folder = dataset_folder(dataset, source, root)
    fix = fix_command(dataset, source)
    problem = structure_problem(dataset, folder, source)
    if problem:
        raise DataError(f"{problem}. Fix: {fix}")
    return source, folder, fix
