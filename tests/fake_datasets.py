"""Tiny datasets written in the official layouts, for the loader, status and importer tests."""
import functools
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from course_utils.datasets.catalog import DATASETS, DRIVE_MANUALS, DRIVE_NUMBERS, DRIVE_SIZE, drive_paths
from course_utils.datasets.standins import MAKERS

W, H = DRIVE_SIZE


@functools.lru_cache(maxsize=1)
def _grid():
    """Column index and a centred disc FOV (fraction about 0.7) on the DRIVE frame."""
    yy, xx = np.mgrid[:H, :W]
    return xx, (xx - W / 2) ** 2 + (yy - H / 2) ** 2 < 270 ** 2


def drive_arrays(number):
    """A fundus-like test case: bright disc FOV, vertical stripe 'vessels' shifted by the case number."""
    xx, fov = _grid()
    vessels = fov & ((xx + number) % 40 < 4)
    image = np.stack([fov * 200, fov * 120 - vessels * 60, fov * 40 + number], axis=-1).astype(np.uint8)
    return image, vessels, fov


def save_gif(path, mask):
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(path)


def write_drive(folder):
    """Write a complete DRIVE tree in the official layout (no training/2nd_manual, like the release)."""
    for split, numbers in DRIVE_NUMBERS.items():
        for n in numbers:
            image, vessels, fov = drive_arrays(n)
            paths = drive_paths(folder, split, f"{n:02d}")
            for kind in ("image", "fov") + DRIVE_MANUALS[split]:
                paths[kind].parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(paths["image"], compression="tiff_lzw")
            save_gif(paths["fov"], fov)
            for kind in DRIVE_MANUALS[split]:
                save_gif(paths[kind], vessels)
    return folder


def write_all_idb(folder):
    """Write a tiny ALL-IDB tree: 4 cells (2 blast, 2 normal) and 2 smears with .xyc files."""
    for kind in ("ALL_IDB2/img", "ALL_IDB1/im", "ALL_IDB1/xyc"):
        (folder / kind).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, label in enumerate([1, 1, 0, 0], start=1):
        cell = rng.integers(0, 255, (257, 257, 3), dtype=np.uint8)
        Image.fromarray(cell).save(folder / "ALL_IDB2" / "img" / f"Im{i:03d}_{label}.tif")
    for i, (label, size) in enumerate([(1, (64, 48)), (0, (80, 40))], start=1):
        smear = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(smear).save(folder / "ALL_IDB1" / "im" / f"Im{i:03d}_{label}.jpg")
    (folder / "ALL_IDB1" / "xyc" / "Im001_1.xyc").write_text("10 20\n\n  30\t40  \n")
    (folder / "ALL_IDB1" / "xyc" / "Im002_0.xyc").write_text("")
    return folder


def write_idx(path, array, magic):
    """Write an uncompressed idx file (big-endian header, uint8 payload)."""
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_fashion(folder, n_train=20, n_test=10):
    """Write the four Fashion-MNIST idx files with random images and labels 0..9."""
    raw = folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), 2051)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10, 2049)
    return folder


def write_bccd(folder, n=3):
    """A tiny BCCD tree: n 640x480 photographs, one WBC box each (none in the last), splits train/val/test."""
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    stems = [f"BloodImage_{k:05d}" for k in range(n)]
    for k, stem in enumerate(stems):
        Image.new("RGB", (640, 480), (200, 120, 140 + k)).save(folder / "JPEGImages" / f"{stem}.jpg")
        wbc = "" if k == n - 1 else ("<object><name>WBC</name><bndbox><xmin>100</xmin><ymin>50</ymin>"
                                      "<xmax>300</xmax><ymax>230</ymax></bndbox></object>")
        rbc = ("<object><name>RBC</name><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>90</xmax><ymax>80</ymax>"
               "</bndbox></object>")
        (folder / "Annotations" / f"{stem}.xml").write_text(f"<annotation>{wbc}{rbc}</annotation>")
    lists = {"train": stems[:1], "val": stems[1:2], "test": stems[2:], "trainval": stems[:2]}
    for split, names in lists.items():
        (folder / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(f"{name}\n" for name in names))
    return folder


def fake_makers(monkeypatch, calls, drive_template):
    """Replace the stand-in makers by the tiny writers above, recording which dataset each call built."""
    def copy_drive(folder):
        return shutil.copytree(drive_template, folder)
    writers = {"fashion_mnist": write_fashion, "drive": copy_drive, "all_idb": write_all_idb, "bccd": write_bccd}
    for dataset, writer in writers.items():
        def make(out_dir, seed=0, name=DATASETS[dataset], writer=writer):
            calls.append(name)
            return writer(Path(out_dir) / name)
        monkeypatch.setitem(MAKERS, dataset, make)
