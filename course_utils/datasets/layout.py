"""The official layouts: which files a dataset folder must hold, and the first thing missing or wrong (no decoding,
except the idx headers and labels of Fashion-MNIST). Used by the loaders, the status report and the importer."""
import re
from pathlib import Path

import numpy as np

from .catalog import (
    ALL_IDB_COUNTS,
    ALL_IDB_FOLDERS,
    BCCD_COUNT,
    BCCD_FOLDERS,
    BCCD_NAME,
    BCCD_SPLITS,
    CELL_NAME,
    DRIVE_FOLDERS,
    DRIVE_NUMBERS,
    FASHION_COUNTS,
    FASHION_FILES,
    FASHION_SIDE,
    IMAGES_MAGIC,
    SMEAR_NAME,
    drive_paths,
    fashion_file,
)


def structure_problem(dataset, folder, source="real"):
    """First missing folder/file or bad count in a dataset folder, or None (loaders, status, importer)."""
    folder = Path(folder)
    if not folder.is_dir():
        return f"missing folder {folder}"
    checks = {"fashion_mnist": _fashion_problem, "drive": _drive_problem, "all_idb": _all_idb_problem,
              "bccd": _bccd_problem}
    return checks[dataset](folder, source)


# ---------------------------------------------------------------- Fashion-MNIST
def idx_count(path):
    """Number of items an idx file's header announces (second big-endian int32)."""
    with open(path, "rb") as handle:
        return int.from_bytes(handle.read(8)[4:8], "big")


def _idx_problem(path, magic, item_bytes):
    """Why an idx file is bad (missing, wrong magic number or image size, truncated), or None."""
    if not path.is_file():
        return f"missing file {path}"
    header = 16 if magic == IMAGES_MAGIC else 8
    with open(path, "rb") as handle:
        head = handle.read(header)
    found = int.from_bytes(head[:4], "big") if len(head) >= 4 else None
    if len(head) < header or found != magic:
        return (f"{path} is not an idx file of this kind (magic number {found}, expected {magic}; "
                f"a still-compressed .gz file or another file under this name?)")
    if magic == IMAGES_MAGIC and head[8:16] != FASHION_SIDE.to_bytes(4, "big") * 2:
        return f"{path} does not hold 28×28 images (header says {head[8:12].hex()} × {head[12:16].hex()}, hex)"
    count = int.from_bytes(head[4:8], "big")
    if path.stat().st_size != header + count * item_bytes:
        return f"{path} is truncated or padded ({path.stat().st_size} bytes for {count} items)"
    return None


def _fashion_pair(raw, split):
    """(images, labels) idx paths of one split under raw/."""
    return raw / fashion_file(split, "images"), raw / fashion_file(split, "labels")


def _fashion_problem(folder, source):
    """First bad Fashion-MNIST idx file under <folder>/raw, or images and labels that do not pair up; None if fine."""
    raw = folder / "raw"
    for name, (magic, item_bytes) in FASHION_FILES.items():
        problem = _idx_problem(raw / name, magic, item_bytes)
        if problem:
            return problem
    for split in FASHION_COUNTS:
        images, labels = _fashion_pair(raw, split)
        if idx_count(images) != idx_count(labels):
            return f"{images} holds {idx_count(images)} images but {labels} holds {idx_count(labels)} labels"
    return None


def fashion_content_problem(folder, source="real"):
    """Structure, then counts (60,000 / 10,000 for the real data), labels in 0..9 and class balance; or None."""
    raw = Path(folder) / "raw"
    problem = _fashion_problem(Path(folder), source)
    if problem:
        return problem
    for split, expected in FASHION_COUNTS.items():
        images, labels = _fashion_pair(raw, split)
        count = idx_count(images)
        if source == "real" and count != expected:
            return f"{images} holds {count:,} images, expected {expected:,} (the official release)"
        y = np.frombuffer(labels.read_bytes(), dtype=np.uint8, offset=8)
        if y.size and y.max() > 9:
            first = int(np.argmax(y > 9))
            return f"{labels} holds label {y[first]} at item {first}; Fashion-MNIST labels are 0..9"
        per_class = np.bincount(y, minlength=10)
        if source == "real" and (per_class != count // 10).any():
            return (f"{labels}: classes are not balanced ({per_class.tolist()} images per class); the official "
                    f"release holds {count // 10:,} of each")
    return None


# ---------------------------------------------------------------- DRIVE
def drive_cases(folder, split):
    """(name, {kind: path}) of every case in a DRIVE split; label kinds only where their folder exists."""
    cases = []
    for number in (f"{n:02d}" for n in DRIVE_NUMBERS[split]):
        paths = drive_paths(folder, split, number)
        kinds = [k for k in paths if k in ("image", "fov") or paths[k].parent.is_dir()]
        cases.append((f"{number}_{split}", {k: paths[k] for k in kinds}))
    return cases


def has_drive_test_labels(folder):
    """True when a DRIVE folder holds the test images' 1st manual (the current release does not)."""
    return drive_paths(Path(folder), "test", "01")["vessels"].parent.is_dir()


def _drive_problem(folder, source):
    """First missing DRIVE folder or file (every file of the official layout), or None."""
    for sub in DRIVE_FOLDERS:
        if not (folder / sub).is_dir():
            return f"missing folder {folder / sub}"
    for split in DRIVE_NUMBERS:
        for _, paths in drive_cases(folder, split):
            missing = [p for p in paths.values() if not p.is_file()]
            if missing:
                return f"missing file {missing[0]}"
    return None


# ---------------------------------------------------------------- ALL-IDB and BCCD
def listing(folder, pattern):
    """Sorted files in folder whose whole name matches pattern (empty when the folder is missing)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and pattern.fullmatch(p.name))


def _count_problem(folder, pattern, expected, what):
    """Why a folder lacks the expected number of pattern files (any number >= 1 when expected is None)."""
    if not folder.is_dir():
        return f"missing folder {folder}"
    count = len(listing(folder, pattern))
    if count == 0 or (expected is not None and count != expected):
        return f"{folder} holds {count} {what} files, expected {expected or 'at least one'}"
    return None


def name_label(path, pattern):
    """Class label encoded in an ALL-IDB file name ImNNN_L (1 blast, 0 normal)."""
    return int(pattern.fullmatch(path.name).group(2))


def xyc_path(image_path):
    """The .xyc centroid file that belongs to an ALL-IDB1 image (ALL_IDB1/xyc/ImNNN_L.xyc)."""
    return image_path.parent.parent / Path(ALL_IDB_FOLDERS["centroids"]).name / (image_path.stem + ".xyc")


def _all_idb_problem(folder, source):
    """First ALL-IDB layout problem (folders, counts, blast .xyc files), or None."""
    counts = ALL_IDB_COUNTS if source == "real" else {}
    problem = (_count_problem(folder / ALL_IDB_FOLDERS["cells"], CELL_NAME, counts.get("cells"), "ImNNN_L.tif")
               or _count_problem(folder / ALL_IDB_FOLDERS["smears"], SMEAR_NAME, counts.get("smears"), "ImNNN_L.jpg"))
    if problem:
        return problem
    if not (folder / ALL_IDB_FOLDERS["centroids"]).is_dir():
        return f"missing folder {folder / ALL_IDB_FOLDERS['centroids']}"
    for path in listing(folder / ALL_IDB_FOLDERS["smears"], SMEAR_NAME):
        if name_label(path, SMEAR_NAME) == 1 and not xyc_path(path).is_file():
            return f"missing file {xyc_path(path)} (blast centroids of {path.name})"
    return None


def bccd_annotation(folder, stem):
    """The Pascal VOC file of one BCCD photograph."""
    return folder / BCCD_FOLDERS["boxes"] / f"{stem}.xml"


def bccd_split_list(folder, split):
    """The file listing the photographs of one official BCCD split."""
    return folder / BCCD_FOLDERS["lists"] / f"{split}.txt"


def _bccd_problem(folder, source):
    """First BCCD layout problem (folders, photo count, a missing annotation or split list), or None."""
    photos = folder / BCCD_FOLDERS["photos"]
    problem = _count_problem(photos, BCCD_NAME, BCCD_COUNT if source == "real" else None, "BloodImage_NNNNN.jpg")
    if problem:
        return problem
    for path in listing(photos, BCCD_NAME):
        if not bccd_annotation(folder, path.stem).is_file():
            return f"missing file {bccd_annotation(folder, path.stem)} (boxes of {path.name})"
    for split in BCCD_SPLITS:
        if not bccd_split_list(folder, split).is_file():
            return f"missing file {bccd_split_list(folder, split)}"
    return None


# ---------------------------------------------------------------- the files an import copies
_LAYOUT_PATTERNS = {
    "all_idb": [re.compile(f"{ALL_IDB_FOLDERS['cells']}/{CELL_NAME.pattern}", re.IGNORECASE),
                re.compile(f"{ALL_IDB_FOLDERS['smears']}/{SMEAR_NAME.pattern}", re.IGNORECASE),
                re.compile(f"{ALL_IDB_FOLDERS['centroids']}/Im\\d{{3}}_[01]\\.xyc", re.IGNORECASE)],
    "bccd": [re.compile(f"{BCCD_FOLDERS['photos']}/{BCCD_NAME.pattern}"),
             re.compile(f"{BCCD_FOLDERS['boxes']}/BloodImage_\\d{{5}}\\.xml"),
             re.compile(f"{BCCD_FOLDERS['lists']}/[^/]+\\.txt"), re.compile("LICENSE")],
    "fashion_mnist": [re.compile("raw/" + "|raw/".join(FASHION_FILES))],
}


def _drive_layout():
    """Every file name of the official DRIVE layout, relative to the DRIVE folder."""
    names = set()
    for split, numbers in DRIVE_NUMBERS.items():
        for number in numbers:
            names |= {p.as_posix() for p in drive_paths(Path(), split, f"{number:02d}").values()}
    return names


_DRIVE_LAYOUT = _drive_layout()


def layout_file(dataset, relative):
    """True when `relative` (a posix path inside the dataset folder) is a file of the official layout: the files
    an import copies (data_download); anything else in a download is left out."""
    if dataset == "drive":
        return relative in _DRIVE_LAYOUT
    return any(p.fullmatch(relative) for p in _LAYOUT_PATTERNS[dataset])


def _normal(relative):
    """Case and extension spelling folded: 21_Training.TIFF -> 21_training.tif (near-miss names)."""
    return re.sub(r"\.tiff$", ".tif", re.sub(r"\.jpeg$", ".jpg", relative.lower()))


_DRIVE_NORMAL = {_normal(name): name for name in _DRIVE_LAYOUT}


def layout_near_miss(dataset, relative):
    """The official name that `relative` misspells only in case or extension (.TIF, .Gif, .tiff), or None."""
    if layout_file(dataset, relative):
        return None
    if dataset == "drive":
        return _DRIVE_NORMAL.get(_normal(relative))
    folder, _, name = relative.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    for candidate in {_normal(name), f"{stem}{dot}{ext.lower()}", f"{stem}{dot}{_normal('.' + ext)[1:]}"}:
        full = f"{folder}/{candidate}" if folder else candidate
        if full != relative and layout_file(dataset, full):
            return full
    return None
