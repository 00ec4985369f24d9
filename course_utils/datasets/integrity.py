"""Is a copy whole and unchanged: full decoding checks, sha256 manifests written at import, and the status report
of `data_download.py status` and notebook 00."""
from pathlib import Path

from ..atomic import file_sha256
from .catalog import ALL_IDB_FOLDERS, CELL_NAME, CELL_SIZE, DATASETS, SMEAR_NAME, SYNTHETIC, drive_held_out_evaluation
from .layout import fashion_content_problem, has_drive_test_labels, listing, structure_problem
from .loaders import load_bccd, load_drive, load_fashion_mnist, read_smear
from .location import data_root
from .reading import DataError, read_image
from .sources import FIX_REAL, FIX_SYNTHETIC, prepare


def verify_dataset(dataset, root, source="real"):
    """Decode and check every file of a dataset under root; DataError names the first bad one (data_download.py)."""
    if dataset == "fashion_mnist":
        source, folder, fix = prepare("fashion_mnist", source, root)
        problem = fashion_content_problem(folder, source)
        if problem:
            raise DataError(f"{problem}. Fix: {fix}")
        load_fashion_mnist(source, root)
    elif dataset == "drive":
        load_drive(source, root)
    elif dataset == "bccd":
        load_bccd(source, root)
    else:  # all_idb: decode without holding 368 images in memory
        _, folder, fix = prepare("all_idb", source, root)
        for path in listing(folder / ALL_IDB_FOLDERS["cells"], CELL_NAME):
            read_image(path, CELL_SIZE, fix)
        for path in listing(folder / ALL_IDB_FOLDERS["smears"], SMEAR_NAME):
            read_smear(path, fix)


# ---------------------------------------------------------------- manifests
def manifest_path(root, dataset):
    """Where the import manifest of a dataset lives: <root>/<Name>.sha256."""
    return Path(root) / f"{DATASETS[dataset]}.sha256"


def write_manifest(base, name, out_path):
    """Write "sha256  <name>/<relative path>" for every file under base/name (sha256sum -c format)."""
    files = sorted(p for p in (Path(base) / name).rglob("*") if p.is_file())
    lines = [f"{file_sha256(p)}  {p.relative_to(base).as_posix()}\n" for p in files]
    Path(out_path).write_text("".join(lines))
    return len(lines)


def manifest_problem(root, dataset):
    """First file that differs from the import manifest, or None (also None when there is no manifest)."""
    path = manifest_path(root, dataset)
    if not path.is_file():
        return None
    for line in path.read_text().splitlines():
        expected, _, relative = line.partition("  ")
        target = Path(root) / relative
        if not target.is_file():
            return f"{target} is listed in {path} but missing"
        if file_sha256(target) != expected:
            return f"{target} differs from its checksum in {path}"
    return None


# ---------------------------------------------------------------- status
def _status_row(dataset, root):
    """Status of one real dataset: present / absent / incomplete / checksum mismatch / corrupt, with what to do.

    An imported copy is checked against its manifest; a copy without one (put there by hand) is decoded in full.
    """
    folder, name = root / DATASETS[dataset], DATASETS[dataset]
    row = {"dataset": name, "path": str(folder), "state": "present", "detail": "", "action": "nothing"}
    if not folder.exists():
        action = f"{FIX_REAL[dataset]}; meanwhile notebooks use the synthetic stand-in"
        return dict(row, state="absent", detail="not imported", action=action)
    problem = structure_problem(dataset, folder, "real")
    if problem:
        return dict(row, state="incomplete", detail=problem, action=FIX_REAL[dataset])
    mismatch = manifest_problem(root, dataset)
    if mismatch:
        return dict(row, state="checksum mismatch", detail=mismatch, action=f"re-import: {FIX_REAL[dataset]}")
    imported = manifest_path(root, dataset).is_file()
    if not imported:
        try:
            verify_dataset(dataset, root)
        except DataError as error:
            return dict(row, state="corrupt", detail=str(error).split(". Fix: ")[0],
                        action=f"re-import: {FIX_REAL[dataset]}")
    detail = "checksums match" if imported else "no manifest (not imported here); every file decoded and checked"
    if dataset == "drive" and not has_drive_test_labels(folder):
        detail += f"; no test labels: {drive_held_out_evaluation()}"
    return dict(row, detail=detail)


def _synthetic_row(root):
    """Status of the synthetic stand-ins under <root>/synthetic."""
    folder = root / SYNTHETIC
    problems = {d: structure_problem(d, folder / DATASETS[d], SYNTHETIC) for d in DATASETS}
    bad = {d: p for d, p in problems.items() if p}
    exists = any((folder / name).exists() for name in DATASETS.values())
    state = "absent" if not exists else "incomplete" if bad else "present"
    detail = "not generated yet" if state == "absent" else "; ".join(bad.values()) or "all stand-ins"
    action = "nothing" if not bad else f"{FIX_SYNTHETIC} (or let a notebook generate it on first use)"
    return {"dataset": SYNTHETIC, "path": str(folder), "state": state, "detail": detail, "action": action}


def _leftover_rows(root):
    """Rows for temp folders an interrupted import left in the root; the advice about old/ only where one holds
    a previous copy (the next successful import deletes the others)."""
    rows = []
    for path in sorted(root.glob(".import-*")) if root.is_dir() else []:
        old = sorted(p.name for p in (path / "old").iterdir()) if (path / "old").is_dir() else []
        row = {"dataset": path.name, "path": str(path), "state": "leftover temp folder"}
        if old:
            row.update(detail=f"left by an interrupted import; it holds the previous copy of {', '.join(old)} in old/",
                       action=f"if {old[0]} is missing from {root}, move {path / 'old' / old[0]} back there; "
                              f"then delete {path}")
        else:
            row.update(detail="left by an interrupted import; nothing in it is needed",
                       action=f"delete it (rm -r {path}), or let the next successful import remove it")
        rows.append(row)
    return rows


def dataset_status(root=None):
    """One dict per dataset (dataset, state, path, detail, action) for data_download.py status and notebook 00."""
    root = data_root(root)
    rows = [_status_row(dataset, root) for dataset in DATASETS]
    return rows + [_synthetic_row(root)] + _leftover_rows(root)
