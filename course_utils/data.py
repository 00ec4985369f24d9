"""Dataset loaders: real or synthetic source, validation with a fix command, status (every notebook)."""
import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import NamedTuple
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.datasets import FashionMNIST

from course_utils import runtime, synthetic

DATASETS = {"fashion_mnist": "FashionMNIST", "drive": "DRIVE", "all_idb": "ALL_IDB", "bccd": "BCCD"}
SOURCES = ("auto", "real", "synthetic")
FIX_REAL = {
    "fashion_mnist": f"{runtime.DATA_COMMAND} fashion-mnist",
    "drive": f"{runtime.DATA_COMMAND} drive --from ~/Downloads/DRIVE.zip",
    "all_idb": f"{runtime.DATA_COMMAND} all-idb --from ~/Downloads/ALL_IDB1.zip ~/Downloads/ALL_IDB2.zip",
    "bccd": f"{runtime.DATA_COMMAND} bccd",
}
FIX_SYNTHETIC = f"{runtime.DATA_COMMAND} synthetic"
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FASHION_FILES = {"train-images-idx3-ubyte": (2051, 784), "train-labels-idx1-ubyte": (2049, 1),
                 "t10k-images-idx3-ubyte": (2051, 784), "t10k-labels-idx1-ubyte": (2049, 1)}
FASHION_COUNTS = {"train": 60000, "t10k": 10000}  # official release (balanced classes); the stand-in may hold fewer
DRIVE_SIZE = (565, 584)  # width, height (PIL order)
DRIVE_DIRS = ("training/images", "training/1st_manual", "training/mask", "test/images", "test/mask")
DRIVE_SUFFIX = {"training": "training", "test": "test"}
DRIVE_HELD_OUT = 13  # images 21-33 train, 34-40 evaluate when the test labels are missing
CELL_SIZE = (257, 257)
CELL_NAME = re.compile(r"Im(\d{3})_([01])\.tiff?", re.IGNORECASE)
SMEAR_NAME = re.compile(r"Im(\d{3})_([01])\.jpe?g", re.IGNORECASE)
ALL_IDB_COUNTS = {"cells": 260, "smears": 108}  # official release; the stand-in may hold fewer smears
BCCD_SIZE = (640, 480)  # width, height (PIL order)
BCCD_COUNT = 364  # photographs (and annotation files) of the release; the stand-in holds fewer
BCCD_NAME = re.compile(r"BloodImage_(\d{5})\.jpg")
BCCD_SPLITS = ("train", "val", "test")
BCCD_CLASSES = ("WBC", "RBC", "Platelets")


class DataError(RuntimeError):
    """A dataset file or folder is missing or bad; the message names it and the command that fixes it."""


@dataclass
class FashionMNISTData:
    """Fashion-MNIST held in memory: X float32 N×1×28×28 in [0, 1], y int64; root is the folder read."""
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    classes: list
    source: str
    root: Path


@dataclass
class DriveImage:
    """One DRIVE case: image float32 H×W×3 in [0, 1]; vessels, fov, vessels2 (or None) bool H×W."""
    name: str
    image: np.ndarray
    vessels: np.ndarray
    fov: np.ndarray
    vessels2: np.ndarray = None


@dataclass
class DriveData:
    """DRIVE train/test cases; test_note says which images are evaluated and why; root is the folder read."""
    train: list
    test: list
    source: str
    root: Path
    test_note: str


@dataclass
class DriveSplit:
    """DRIVE training cases split for model selection: train, validation; note names the validation images."""
    train: list
    validation: list
    note: str


@dataclass
class CellData:
    """ALL-IDB2 single cells: uint8 H×W×3 images, int64 labels (1 blast, 0 normal), names; root is the folder read."""
    images: list
    labels: np.ndarray
    names: list
    source: str
    root: Path


@dataclass
class SmearData:
    """ALL-IDB1 smears: uint8 H×W×3 images, labels, names, blast centroids (K×2 arrays of x, y)."""
    images: list
    labels: np.ndarray
    names: list
    centroids: list
    source: str
    root: Path


@dataclass
class BloodSmearData:
    """BCCD photographs: uint8 H×W×3 images, names, boxes per image ({class: K×4 xmin, ymin, xmax, ymax}),
    index arrays of the official train/val/test lists; root is the folder read."""
    images: list
    names: list
    boxes: list
    splits: dict
    source: str
    root: Path

    def wbc_centres(self, i):
        """(x, y) centres of the white-cell boxes of photograph i, a K×2 array (04 solutions)."""
        b = self.boxes[i]["WBC"]
        return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)


# ---------------------------------------------------------------- source resolution
def _root(root):
    """The data root: the given path, else runtime.data_root() ($COURSE_DATA or <repo>/data)."""
    return Path(root).expanduser() if root is not None else runtime.data_root()


def _check_names(dataset, data_source):
    """Reject an unknown dataset or data_source with a message listing the valid values."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {sorted(DATASETS)}")
    if data_source not in SOURCES:
        raise ValueError(f"unknown data_source {data_source!r}; use one of {SOURCES}, e.g. data_source = \"auto\"")


def fix_command(dataset, source):
    """The command that (re)creates a dataset's files, quoted in every error message."""
    if source == "synthetic":
        return FIX_SYNTHETIC
    return FIX_REAL[dataset]


def real_problem(dataset, root=None):
    """Why the real copy under root is unusable (a sentence naming the file/folder), or None when complete."""
    folder = _root(root) / DATASETS[dataset]
    if not folder.is_dir():
        return f"{DATASETS[dataset]} is absent: no folder {folder}"
    return structure_problem(dataset, folder, "real")


def resolve_source(dataset, data_source="auto", root=None):
    """Pick "real" or "synthetic" for a notebook's data_source (runtime.start and every loader)."""
    _check_names(dataset, data_source)
    if data_source == "synthetic":
        return "synthetic"
    problem = real_problem(dataset, root)
    if problem is None:
        return "real"
    if data_source == "real":
        raise DataError(f"{problem}. Fix: {fix_command(dataset, 'real')} "
                        f"(or set data_source = \"synthetic\" in the parameters cell)")
    return "synthetic"


def _generate(dataset, out_dir):
    """Write the synthetic stand-in of one dataset under out_dir; a read-only root gives a DataError."""
    makers = {"fashion_mnist": synthetic.make_fashion_mnist, "drive": synthetic.make_drive,
              "all_idb": synthetic.make_all_idb, "bccd": synthetic.make_bccd}
    print(f"generating the synthetic {DATASETS[dataset]} stand-in under {out_dir} (first use only) ...")
    try:
        makers[dataset](out_dir, seed=0)
    except OSError as error:
        raise DataError(f"cannot write the synthetic stand-in under {out_dir} ({error}). Fix: point COURSE_DATA "
                        f"at a writable folder (export COURSE_DATA=~/course_data), then {FIX_SYNTHETIC}") from error


def dataset_folder(dataset, source, root):
    """Folder a loader reads: <root>/<Name> (real) or <root>/synthetic/<Name>, generated on first use."""
    if source == "real":
        return root / DATASETS[dataset]
    folder = root / "synthetic" / DATASETS[dataset]
    if not folder.exists():
        _generate(dataset, root / "synthetic")
    return folder


def _prepare(dataset, source, root):
    """Resolve the source, find (or generate) the folder and check its structure: (source, folder, fix)."""
    root = _root(root)
    source = resolve_source(dataset, source, root)
    folder = dataset_folder(dataset, source, root)
    fix = fix_command(dataset, source)
    problem = structure_problem(dataset, folder, source)
    if problem:
        raise DataError(f"{problem}. Fix: {fix}")
    return source, folder, fix


# ---------------------------------------------------------------- structure checks (no decoding)
def structure_problem(dataset, folder, source="real"):
    """First missing folder/file or bad count in a dataset folder, or None (loaders, status, importer)."""
    folder = Path(folder)
    if not folder.is_dir():
        return f"missing folder {folder}"
    checks = {"fashion_mnist": _fashion_problem, "drive": _drive_problem, "all_idb": _all_idb_problem,
              "bccd": _bccd_problem}
    return checks[dataset](folder, source)


def idx_count(path):
    """Number of items an idx file's header announces (second big-endian int32)."""
    with open(path, "rb") as handle:
        return int.from_bytes(handle.read(8)[4:8], "big")


def _idx_problem(path, magic, item_bytes):
    """Why an idx file is bad (missing, wrong magic number or image size, truncated), or None."""
    if not path.is_file():
        return f"missing file {path}"
    header = 16 if magic == 2051 else 8
    with open(path, "rb") as handle:
        head = handle.read(header)
    found = int.from_bytes(head[:4], "big") if len(head) >= 4 else None
    if len(head) < header or found != magic:
        return (f"{path} is not an idx file of this kind (magic number {found}, expected {magic}; "
                f"a still-compressed .gz file or another file under this name?)")
    if magic == 2051 and head[8:16] != (28).to_bytes(4, "big") * 2:
        return f"{path} does not hold 28×28 images (header says {head[8:12].hex()} × {head[12:16].hex()}, hex)"
    count = int.from_bytes(head[4:8], "big")
    if path.stat().st_size != header + count * item_bytes:
        return f"{path} is truncated or padded ({path.stat().st_size} bytes for {count} items)"
    return None


def _fashion_problem(folder, source):
    """First bad Fashion-MNIST idx file under <folder>/raw, or images and labels that do not pair up; None if fine."""
    raw = folder / "raw"
    for name, (magic, item_bytes) in FASHION_FILES.items():
        problem = _idx_problem(raw / name, magic, item_bytes)
        if problem:
            return problem
    for split in FASHION_COUNTS:
        images, labels = raw / f"{split}-images-idx3-ubyte", raw / f"{split}-labels-idx1-ubyte"
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
        images, labels = raw / f"{split}-images-idx3-ubyte", raw / f"{split}-labels-idx1-ubyte"
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


def _drive_paths(folder, split, number):
    """Official paths of one DRIVE case: image, 1st manual, FOV mask, 2nd manual."""
    base, suffix = folder / split, DRIVE_SUFFIX[split]
    return {"image": base / "images" / f"{number}_{suffix}.tif",
            "vessels": base / "1st_manual" / f"{number}_manual1.gif",
            "fov": base / "mask" / f"{number}_{suffix}_mask.gif",
            "vessels2": base / "2nd_manual" / f"{number}_manual2.gif"}


def drive_cases(folder, split):
    """(name, {kind: path}) of every case in a DRIVE split; label kinds only where their folder exists."""
    numbers = range(21, 41) if split == "training" else range(1, 21)
    cases = []
    for number in (f"{n:02d}" for n in numbers):
        paths = _drive_paths(folder, split, number)
        kinds = [k for k in paths if k in ("image", "fov") or paths[k].parent.is_dir()]
        cases.append((f"{number}_{DRIVE_SUFFIX[split]}", {k: paths[k] for k in kinds}))
    return cases


def _drive_problem(folder, source):
    """First missing DRIVE folder or file (every file of the official layout), or None."""
    for sub in DRIVE_DIRS:
        if not (folder / sub).is_dir():
            return f"missing folder {folder / sub}"
    for split in ("training", "test"):
        for _, paths in drive_cases(folder, split):
            missing = [p for p in paths.values() if not p.is_file()]
            if missing:
                return f"missing file {missing[0]}"
    return None


def _listing(folder, pattern):
    """Sorted files in folder whose whole name matches pattern (empty when the folder is missing)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and pattern.fullmatch(p.name))


def _count_problem(folder, pattern, expected, what):
    """Why a folder lacks the expected number of pattern files (any number >= 1 when expected is None)."""
    if not folder.is_dir():
        return f"missing folder {folder}"
    count = len(_listing(folder, pattern))
    if count == 0 or (expected is not None and count != expected):
        return f"{folder} holds {count} {what} files, expected {expected or 'at least one'}"
    return None


def _all_idb_problem(folder, source):
    """First ALL-IDB layout problem (folders, counts, blast .xyc files), or None."""
    counts = ALL_IDB_COUNTS if source == "real" else {}
    problem = (_count_problem(folder / "ALL_IDB2" / "img", CELL_NAME, counts.get("cells"), "ImNNN_L.tif")
               or _count_problem(folder / "ALL_IDB1" / "im", SMEAR_NAME, counts.get("smears"), "ImNNN_L.jpg"))
    if problem:
        return problem
    if not (folder / "ALL_IDB1" / "xyc").is_dir():
        return f"missing folder {folder / 'ALL_IDB1' / 'xyc'}"
    for path in _listing(folder / "ALL_IDB1" / "im", SMEAR_NAME):
        if _label(path, SMEAR_NAME) == 1 and not xyc_path(path).is_file():
            return f"missing file {xyc_path(path)} (blast centroids of {path.name})"
    return None


def _bccd_problem(folder, source):
    """First BCCD layout problem (folders, photo count, a missing annotation or split list), or None."""
    problem = _count_problem(folder / "JPEGImages", BCCD_NAME, BCCD_COUNT if source == "real" else None,
                             "BloodImage_NNNNN.jpg")
    if problem:
        return problem
    for path in _listing(folder / "JPEGImages", BCCD_NAME):
        if not (folder / "Annotations" / f"{path.stem}.xml").is_file():
            return f"missing file {folder / 'Annotations' / (path.stem + '.xml')} (boxes of {path.name})"
    for split in BCCD_SPLITS:
        if not (folder / "ImageSets" / "Main" / f"{split}.txt").is_file():
            return f"missing file {folder / 'ImageSets' / 'Main' / (split + '.txt')}"
    return None


# ---------------------------------------------------------------- reading files
def read_image(path, size, fix):
    """Open and fully decode an image; missing, corrupt, truncated or wrongly sized files raise DataError."""
    try:
        with Image.open(path) as image:
            image.load()
    except FileNotFoundError as error:
        raise DataError(f"missing file {path}. Fix: {fix}") from error
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(f"corrupt or truncated image {path} ({error}). Fix: {fix}") from error
    if size is not None and image.size != tuple(size):
        raise DataError(f"{path} is {image.size[0]}×{image.size[1]} pixels, expected "
                        f"{size[0]}×{size[1]}. Fix: {fix}")
    return image


def read_binary(path, size, fix):
    """Read a manual annotation or FOV mask as bool (grey > 127); more than two grey levels is an error."""
    grey = np.asarray(read_image(path, size, fix).convert("L"))
    levels = np.flatnonzero(np.bincount(grey.ravel(), minlength=256))
    if len(levels) > 2:
        raise DataError(f"{path} is not a binary label image: {len(levels)} grey levels after conversion "
                        f"to L, expected two (e.g. 0 and 255). Fix: {fix}")
    if len(levels) == 2 and not levels[0] <= 127 < levels[1]:
        raise DataError(f"{path} has grey levels {levels[0]} and {levels[1]}, both on one side of the "
                        f"threshold 127 (labels coded 0/1?). Fix: {fix}")
    return grey > 127


def _read_drive_case(name, paths, fix):
    """Read one DRIVE case (image as float in [0, 1], labels and FOV as bool); vessels None if unlabelled."""
    image = np.asarray(read_image(paths["image"], DRIVE_SIZE, fix).convert("RGB"), dtype=np.float32) / 255
    labels = {k: read_binary(paths[k], DRIVE_SIZE, fix) if k in paths else None
              for k in ("vessels", "fov", "vessels2")}
    return DriveImage(name, image, labels["vessels"], labels["fov"], labels["vessels2"])


def _label(path, pattern):
    """Class label encoded in an ALL-IDB file name ImNNN_L (1 blast, 0 normal)."""
    return int(pattern.fullmatch(path.name).group(2))


def xyc_path(image_path):
    """The .xyc centroid file that belongs to an ALL-IDB1 image (ALL_IDB1/xyc/ImNNN_L.xyc)."""
    return image_path.parent.parent / "xyc" / (image_path.stem + ".xyc")


def parse_xyc(text, path="<text>"):
    """Parse .xyc text ("x y" per line, blank lines ignored) into a K×2 float array (notebook 04)."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError
            rows.append([float(parts[0]), float(parts[1])])
        except ValueError:
            raise DataError(f"{path} line {number}: expected two numbers \"x y\", got {line.strip()!r}") from None
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def _read_smear(path, fix):
    """Read one ALL-IDB1 smear and its blast centroids (no .xyc file: none, allowed for normal smears)."""
    image = np.asarray(read_image(path, None, fix).convert("RGB"))
    xyc = xyc_path(path)
    if not xyc.is_file():
        return image, np.zeros((0, 2))
    try:
        return image, parse_xyc(xyc.read_text(encoding="utf-8", errors="replace"), xyc)
    except DataError as error:
        raise DataError(f"{error}. Fix: {fix}") from None


def parse_voc_boxes(text, path="<text>"):
    """Pascal VOC annotation text → {class: K×4 float array of xmin, ymin, xmax, ymax} for BCCD's classes."""
    try:
        objects = ET.fromstring(text).iter("object")
        found = {name: [] for name in BCCD_CLASSES}
        for obj in objects:
            name, box = obj.findtext("name", "").strip(), obj.find("bndbox")
            if name in found:
                found[name].append([float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")])
    except (ET.ParseError, AttributeError, TypeError, ValueError) as error:
        raise DataError(f"{path} is not a readable Pascal VOC annotation ({error})") from None
    return {name: np.array(rows, dtype=np.float64).reshape(-1, 4) for name, rows in found.items()}


def _read_bccd_photo(folder, stem, fix):
    """One BCCD photograph (640×480 RGB) and its boxes."""
    image = np.asarray(read_image(folder / "JPEGImages" / f"{stem}.jpg", BCCD_SIZE, fix).convert("RGB"))
    path = folder / "Annotations" / f"{stem}.xml"
    try:
        return image, parse_voc_boxes(path.read_bytes(), path)
    except DataError as error:
        raise DataError(f"{error}. Fix: {fix}") from None


def _bccd_split_lists(folder, stems, fix):
    """Index arrays of the official train/val/test lists; a name no photograph has is an error."""
    position = {stem: i for i, stem in enumerate(stems)}
    splits = {}
    for split in BCCD_SPLITS:
        path = folder / "ImageSets" / "Main" / f"{split}.txt"
        names = path.read_text().split()
        unknown = [n for n in names if n not in position]
        if unknown:
            raise DataError(f"{path} lists {unknown[0]}, which has no photograph in {folder / 'JPEGImages'}. "
                            f"Fix: {fix}")
        splits[split] = np.array([position[n] for n in names], dtype=np.int64)
    return splits


# ---------------------------------------------------------------- loaders
def _fashion_split(folder, train, fix):
    """One Fashion-MNIST split as in-memory tensors (torchvision reads the idx files once)."""
    try:
        dataset = FashionMNIST(folder.parent, train=train, download=False)
    except (RuntimeError, ValueError, OSError) as error:
        raise DataError(f"cannot read Fashion-MNIST from {folder / 'raw'} ({error}). Fix: {fix}") from error
    X = dataset.data.unsqueeze(1).float().div_(255)
    return X, dataset.targets.long()


def load_fashion_mnist(source="auto", root=None):
    """Fashion-MNIST as tensors in memory: X float32 N×1×28×28 in [0, 1] (notebooks 01a, 01b, 05)."""
    source, folder, fix = _prepare("fashion_mnist", source, root)
    X_train, y_train = _fashion_split(folder, True, fix)
    X_test, y_test = _fashion_split(folder, False, fix)
    return FashionMNISTData(X_train, y_train, X_test, y_test, list(FASHION_CLASSES), source, folder)


def _drive_note(folder, held_out):
    """Sentence saying which DRIVE images are evaluated and why."""
    if held_out:
        return (f"{folder / 'test' / '1st_manual'} is absent (the current official release ships no test "
                f"labels), so training images 21-33 are used for training and 34-40 are held out for evaluation.")
    return ("Training on images 21-40, evaluation on the official test images 01-20 against the 1st observer "
            "(vessels); the 2nd observer (vessels2) is there for a human-vs-human comparison.")


def load_drive(source="auto", root=None):
    """DRIVE train/test cases, every file validated; held-out split when test labels are absent (02, 03, 05)."""
    source, folder, fix = _prepare("drive", source, root)
    train = [_read_drive_case(name, paths, fix) for name, paths in drive_cases(folder, "training")]
    test = [_read_drive_case(name, paths, fix) for name, paths in drive_cases(folder, "test")]
    held_out = not (folder / "test" / "1st_manual").is_dir()
    if held_out:
        train, test = train[:DRIVE_HELD_OUT], train[DRIVE_HELD_OUT:]
    return DriveData(train, test, source, folder, _drive_note(folder, held_out))


def validation_split(items, num_val, seed=0):
    """Seeded split of a list into (train, validation) lists, order kept (05; drive_validation_split uses it)."""
    if not 0 < num_val < len(items):
        raise ValueError(f"num_val must be between 1 and {len(items) - 1} (got {num_val})")
    val_idx = set(np.random.default_rng(seed).permutation(len(items))[:num_val].tolist())
    return ([item for i, item in enumerate(items) if i not in val_idx],
            [item for i, item in enumerate(items) if i in val_idx])


def drive_validation_split(cases, n_val=4, seed=0):
    """Seeded split of DRIVE training cases into training and validation images, order kept (02, 03, 05)."""
    if not 1 <= n_val < len(cases):
        raise ValueError(f"n_val must be between 1 and {len(cases) - 1} (got {n_val})")
    train, validation = validation_split(cases, n_val, seed)
    note = (f"validation images (seed {seed}): {', '.join(c.name for c in validation)}; training images: "
            f"the other {len(train)} of {len(cases)}")
    return DriveSplit(train, validation, note)


def load_all_idb2(source="auto", root=None):
    """ALL-IDB2 single-cell crops (257×257 RGB) with labels from the names ImNNN_L (notebook 04)."""
    source, folder, fix = _prepare("all_idb", source, root)
    files = _listing(folder / "ALL_IDB2" / "img", CELL_NAME)
    images = [np.asarray(read_image(path, CELL_SIZE, fix).convert("RGB")) for path in files]
    labels = np.array([_label(path, CELL_NAME) for path in files], dtype=np.int64)
    return CellData(images, labels, [path.stem for path in files], source, folder)


def load_all_idb1(source="auto", root=None):
    """ALL-IDB1 whole smears with labels and blast centroids from the .xyc files (notebook 04)."""
    source, folder, fix = _prepare("all_idb", source, root)
    files = _listing(folder / "ALL_IDB1" / "im", SMEAR_NAME)
    pairs = [_read_smear(path, fix) for path in files]
    labels = np.array([_label(path, SMEAR_NAME) for path in files], dtype=np.int64)
    return SmearData([p[0] for p in pairs], labels, [path.stem for path in files],
                     [p[1] for p in pairs], source, folder)


def load_bccd(source="auto", root=None):
    """BCCD blood-smear photographs with their WBC/RBC/platelet boxes and official splits (04 solutions)."""
    source, folder, fix = _prepare("bccd", source, root)
    stems = [path.stem for path in _listing(folder / "JPEGImages", BCCD_NAME)]
    pairs = [_read_bccd_photo(folder, stem, fix) for stem in stems]
    return BloodSmearData([p[0] for p in pairs], stems, [p[1] for p in pairs],
                          _bccd_split_lists(folder, stems, fix), source, folder)


def verify_dataset(dataset, root, source="real"):
    """Decode and check every file of a dataset under root; DataError names the first bad one (data_download.py)."""
    if dataset == "fashion_mnist":
        source, folder, fix = _prepare("fashion_mnist", source, root)
        problem = fashion_content_problem(folder, source)
        if problem:
            raise DataError(f"{problem}. Fix: {fix}")
        load_fashion_mnist(source, root)
    elif dataset == "drive":
        load_drive(source, root)
    elif dataset == "bccd":
        load_bccd(source, root)
    else:
        _, folder, fix = _prepare("all_idb", source, root)
        for path in _listing(folder / "ALL_IDB2" / "img", CELL_NAME):
            read_image(path, CELL_SIZE, fix)
        for path in _listing(folder / "ALL_IDB1" / "im", SMEAR_NAME):
            _read_smear(path, fix)


# ---------------------------------------------------------------- splits
def _largest_remainder(shares, total):
    """Round non-negative shares to integers summing exactly to total (largest remainders first)."""
    counts = np.floor(shares).astype(int)
    order = np.argsort(-(shares - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def stratified_split(labels, n_test, seed):
    """Seeded split with exactly n_test test items, each class in proportion (notebook 04: 200/60)."""
    labels = np.asarray(labels)
    if not 0 < n_test < len(labels):
        raise ValueError(f"n_test must be between 1 and {len(labels) - 1} (got {n_test})")
    classes, counts = np.unique(labels, return_counts=True)
    quotas = _largest_remainder(counts * n_test / len(labels), n_test)
    rng = np.random.default_rng(seed)
    picks = [rng.permutation(np.flatnonzero(labels == c))[:q] for c, q in zip(classes, quotas)]
    test_idx = np.sort(np.concatenate(picks))
    return np.setdiff1d(np.arange(len(labels)), test_idx), test_idx


class FashionSplits(NamedTuple):
    """Flattened Fashion-MNIST training, validation and test images (N×784) with their labels."""
    X: torch.Tensor
    y: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


def fashion_splits(fm, n_val, n_train=None, seed=0):
    """Stratified validation images out of the training set, the first n_train of the rest, the test set;
    images flattened to N×784 (01a, 01b and their solutions, data cell)."""
    train_idx, val_idx = stratified_split(fm.y_train, n_val, seed)
    train_idx, val_idx = torch.as_tensor(train_idx[:n_train]), torch.as_tensor(val_idx)
    return FashionSplits(fm.X_train[train_idx].flatten(1), fm.y_train[train_idx],
                         fm.X_train[val_idx].flatten(1), fm.y_train[val_idx], fm.X_test.flatten(1), fm.y_test)


# ---------------------------------------------------------------- manifests and status
def file_sha256(path):
    """Hex sha256 of one file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    if dataset == "drive" and not (folder / "test" / "1st_manual").is_dir():
        detail += "; no test labels: notebooks evaluate on held-out training images 34-40"
    return dict(row, detail=detail)


def _synthetic_row(root):
    """Status of the synthetic stand-ins under <root>/synthetic."""
    folder = root / "synthetic"
    problems = {d: structure_problem(d, folder / DATASETS[d], "synthetic") for d in DATASETS}
    bad = {d: p for d, p in problems.items() if p}
    exists = any((folder / name).exists() for name in DATASETS.values())
    state = "absent" if not exists else "incomplete" if bad else "present"
    detail = "not generated yet" if state == "absent" else "; ".join(bad.values()) or "all stand-ins"
    action = "nothing" if not bad else f"{FIX_SYNTHETIC} (or let a notebook generate it on first use)"
    return {"dataset": "synthetic", "path": str(folder), "state": state, "detail": detail, "action": action}


def _leftover_rows(root):
    """Rows for temp folders an interrupted import left in the root (the old copy may sit in one)."""
    rows = []
    for path in sorted(root.glob(".import-*")) if root.is_dir() else []:
        rows.append({"dataset": path.name, "path": str(path), "state": "leftover temp folder",
                     "detail": "left by an interrupted import (a previous copy may sit in its old/ folder)",
                     "action": "if the dataset is missing, move old/<Name> back into the root; then delete it"})
    return rows


def dataset_status(root=None):
    """One dict per dataset (dataset, state, path, detail, action) for data_download.py status and notebook 00."""
    root = _root(root)
    rows = [_status_row(dataset, root) for dataset in DATASETS]
    return rows + [_synthetic_row(root)] + _leftover_rows(root)
