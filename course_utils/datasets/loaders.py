"""Loaders: each dataset read into memory from the real copy or the synthetic stand-in, every file checked
(notebooks 01a, 01b, 02, 03, 04, 05). They neither train nor plot."""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import FashionMNIST

from .catalog import (
    ALL_IDB_FOLDERS,
    BCCD_FOLDERS,
    BCCD_NAME,
    BCCD_SIZE,
    BCCD_SPLITS,
    CELL_NAME,
    CELL_SIZE,
    DRIVE_NUMBERS,
    DRIVE_SIZE,
    FASHION_CLASSES,
    SMEAR_NAME,
    drive_held_out_numbers,
    number_range,
)
from .layout import bccd_annotation, bccd_split_list, drive_cases, has_drive_test_labels, listing, name_label, xyc_path
from .reading import DataError, parse_voc_boxes, parse_xyc, read_binary, read_parsed, read_rgb
from .sources import prepare


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

    def centres(self, i, kind="WBC"):
        """(x, y) centres of the `kind` boxes (WBC, RBC, Platelets) of photograph i, a K×2 array (04b)."""
        b = self.boxes[i][kind]
        return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)


# ---------------------------------------------------------------- Fashion-MNIST
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
    source, folder, fix = prepare("fashion_mnist", source, root)
    X_train, y_train = _fashion_split(folder, True, fix)
    X_test, y_test = _fashion_split(folder, False, fix)
    return FashionMNISTData(X_train, y_train, X_test, y_test, list(FASHION_CLASSES), source, folder)


# ---------------------------------------------------------------- DRIVE
def _read_drive_case(name, paths, fix):
    """Read one DRIVE case (image as float in [0, 1], labels and FOV as bool); vessels None if unlabelled."""
    image = np.asarray(read_rgb(paths["image"], DRIVE_SIZE, fix), dtype=np.float32) / 255
    labels = {k: read_binary(paths[k], DRIVE_SIZE, fix) if k in paths else None
              for k in ("vessels", "fov", "vessels2")}
    return DriveImage(name, image, labels["vessels"], labels["fov"], labels["vessels2"])


def drive_test_note(folder, held_out):
    """Sentence saying which DRIVE images are evaluated and why (load_drive, status)."""
    if held_out:
        train, evaluate = drive_held_out_numbers()
        return (f"{folder / 'test' / '1st_manual'} is absent (the current official release ships no test "
                f"labels), so training images {number_range(train)} are used for training and "
                f"{number_range(evaluate)} are held out for evaluation.")
    return (f"Training on images {number_range(DRIVE_NUMBERS['training'])}, evaluation on the official test images "
            f"{number_range(DRIVE_NUMBERS['test'])} against the 1st observer (vessels); the 2nd observer (vessels2) "
            f"is there for a human-vs-human comparison.")


def load_drive(source="auto", root=None):
    """DRIVE train/test cases, every file validated; held-out split when test labels are absent (02, 03, 05)."""
    source, folder, fix = prepare("drive", source, root)
    train = [_read_drive_case(name, paths, fix) for name, paths in drive_cases(folder, "training")]
    test = [_read_drive_case(name, paths, fix) for name, paths in drive_cases(folder, "test")]
    held_out = not has_drive_test_labels(folder)
    if held_out:
        n_train = len(drive_held_out_numbers()[0])
        train, test = train[:n_train], train[n_train:]
    return DriveData(train, test, source, folder, drive_test_note(folder, held_out))


# ---------------------------------------------------------------- ALL-IDB
def read_smear(path, fix):
    """Read one ALL-IDB1 smear and its blast centroids (no .xyc file: none, allowed for normal smears)."""
    image, xyc = read_rgb(path, None, fix), xyc_path(path)
    return image, read_parsed(xyc, parse_xyc, fix) if xyc.is_file() else np.zeros((0, 2))


def load_all_idb2(source="auto", root=None):
    """ALL-IDB2 single-cell crops (257×257 RGB) with labels from the names ImNNN_L (notebook 04)."""
    source, folder, fix = prepare("all_idb", source, root)
    files = listing(folder / ALL_IDB_FOLDERS["cells"], CELL_NAME)
    images = [read_rgb(path, CELL_SIZE, fix) for path in files]
    labels = np.array([name_label(path, CELL_NAME) for path in files], dtype=np.int64)
    return CellData(images, labels, [path.stem for path in files], source, folder)


def load_all_idb1(source="auto", root=None):
    """ALL-IDB1 whole smears with labels and blast centroids from the .xyc files (notebook 04)."""
    source, folder, fix = prepare("all_idb", source, root)
    files = listing(folder / ALL_IDB_FOLDERS["smears"], SMEAR_NAME)
    pairs = [read_smear(path, fix) for path in files]
    labels = np.array([name_label(path, SMEAR_NAME) for path in files], dtype=np.int64)
    return SmearData([p[0] for p in pairs], labels, [path.stem for path in files],
                     [p[1] for p in pairs], source, folder)


# ---------------------------------------------------------------- BCCD
def _read_bccd_photo(folder, stem, fix):
    """One BCCD photograph (640×480 RGB) and its boxes."""
    image = read_rgb(folder / BCCD_FOLDERS["photos"] / f"{stem}.jpg", BCCD_SIZE, fix)
    return image, read_parsed(bccd_annotation(folder, stem), parse_voc_boxes, fix)


def _bccd_split_lists(folder, stems, fix):
    """Index arrays of the official train/val/test lists; a name no photograph has is an error."""
    position = {stem: i for i, stem in enumerate(stems)}
    splits = {}
    for split in BCCD_SPLITS:
        path = bccd_split_list(folder, split)
        names = path.read_text().split()
        unknown = [n for n in names if n not in position]
        if unknown:
            raise DataError(f"{path} lists {unknown[0]}, which has no photograph in "
                            f"{folder / BCCD_FOLDERS['photos']}. Fix: {fix}")
        splits[split] = np.array([position[n] for n in names], dtype=np.int64)
    return splits


def load_bccd(source="auto", root=None):
    """BCCD blood-smear photographs with their WBC/RBC/platelet boxes and official splits (04 solutions)."""
    source, folder, fix = prepare("bccd", source, root)
    stems = [path.stem for path in listing(folder / BCCD_FOLDERS["photos"], BCCD_NAME)]
    pairs = [_read_bccd_photo(folder, stem, fix) for stem in stems]
    return BloodSmearData([p[0] for p in pairs], stems, [p[1] for p in pairs],
                          _bccd_split_lists(folder, stems, fix), source, folder)
