"""What every stand-in generator shares: seeded generators, atomic folder writes, GIF masks, smooth noise."""
from pathlib import Path

import numpy as np
from PIL import Image

from ...atomic import write_atomically
from ..catalog import DATASETS

_DATASET_CODES = {"fashion_mnist": 1, "drive": 2, "all_idb": 3, "bccd": 4}  # fixed: they seed every image


def item_rng(seed, dataset, *index):
    """Independent generator for one item (image, chunk) of a dataset, fixed by the seed."""
    return np.random.default_rng([seed, _DATASET_CODES[dataset], *index])


def _missing(folder, expected):
    """Names in `expected` (name -> size in bytes or None) that are absent or of the wrong size."""
    bad = []
    for name, size in expected.items():
        path = folder / name
        if not path.is_file() or (size is not None and path.stat().st_size != size):
            bad.append(name)
    return bad


def build_atomically(out_dir, name, expected, write):
    """Return <out_dir>/<name> if complete, else build it with write(tmp) in a temp dir and rename it."""
    out_dir = Path(out_dir)
    target = out_dir / name
    if target.exists():
        missing = _missing(target, expected)
        if not missing:
            return target
        raise FileExistsError(f"{target} exists but is incomplete ({len(missing)} files missing or wrong, "
                              f"e.g. {missing[0]}); delete that folder and generate again")
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_atomically(target, write, folder=True, keep=lambda done: not _missing(done, expected))


def build_dataset(out_dir, dataset, expected, write):
    """build_atomically under the dataset's official folder name (every make_* function)."""
    return build_atomically(out_dir, DATASETS[dataset], expected, write)


def save_gif(path, mask):
    """Write a boolean mask as a greyscale GIF with values {0, 255}, like the DRIVE manuals and masks."""
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), mode="L").save(path, optimize=False)


def smooth_noise(rng, size, grid):
    """Smooth random field of size (width, height): a normal grid (rows, columns) upsampled bicubically."""
    small = Image.fromarray(rng.normal(0.0, 1.0, grid).astype(np.float32), mode="F")
    return np.asarray(small.resize(size, Image.BICUBIC), np.float32)
