"""ALL-IDB stand-in: ALL_IDB2 single-cell crops and ALL_IDB1 smears with blast centroids (.xyc), notebook 04.

Cells are drawn at the same magnification in crops and smears, so a crop classifier can be slid over a smear;
deterministic for a seed (every image draws from its own generator).
"""
from PIL import Image

from ..catalog import ALL_IDB_BLAST_CELLS, ALL_IDB_COUNTS, ALL_IDB_FOLDERS, CELL_SIZE, all_idb_stem
from ..catalog import SMEAR_SIZES as REAL_SMEAR_SIZES
from .blood import NORMAL_KINDS, place_white_cells, render_field
from .common import build_dataset, item_rng

SMEAR_SIZES = tuple((w // 2, h // 2) for w, h in REAL_SMEAR_SIZES)  # half the real photographs' field of view


def make_all_idb(out_dir, seed=0, n_smears=24):
    """Write the synthetic ALL-IDB stand-in (ALL_IDB2 crops, ALL_IDB1 smears, .xyc) to <out_dir>/ALL_IDB (04).

    ALL_IDB2: 260 single-cell 257×257 TIFFs, Im001_1..Im130_1 blasts, Im131_0..Im260_0 normal white cells.
    ALL_IDB1: n_smears JPEG smears, the first half with blasts, at SMEAR_SIZES (a smaller field of view than the
    real photographs, same magnification): cells have the same size in pixels as in the crops, so a crop
    classifier can be slid over a smear; blast centroids in .xyc files.
    """
    def write(folder):
        """Crops as TIFF, smears as JPEG (quality 90) with their .xyc centroid files."""
        for sub in ALL_IDB_FOLDERS.values():
            (folder / sub).mkdir(parents=True)
        for num in range(1, ALL_IDB_COUNTS["cells"] + 1):
            Image.fromarray(cell_crop(num, seed)).save(folder / _cell_file(num))
        for num in range(1, n_smears + 1):
            image, centroids = smear(num, seed, n_smears)
            photo, xyc = _smear_files(num, n_smears)
            Image.fromarray(image).save(folder / photo, quality=90)
            (folder / xyc).write_text("".join(f"{x} {y}\n" for x, y in centroids))

    return build_dataset(out_dir, "all_idb", dict.fromkeys(_all_idb_files(n_smears)), write)


def _cell_file(num):
    """Path of ALL_IDB2 crop num relative to the ALL_IDB folder."""
    return f"{ALL_IDB_FOLDERS['cells']}/{all_idb_stem(num, num <= ALL_IDB_BLAST_CELLS)}.tif"


def _smear_files(num, n_smears):
    """Paths of ALL_IDB1 smear num and its .xyc file relative to the ALL_IDB folder (first half: blasts)."""
    stem = all_idb_stem(num, num <= n_smears // 2)
    return f"{ALL_IDB_FOLDERS['smears']}/{stem}.jpg", f"{ALL_IDB_FOLDERS['centroids']}/{stem}.xyc"


def _all_idb_files(n_smears):
    """Every file of the stand-in, relative to the ALL_IDB folder."""
    names = [_cell_file(num) for num in range(1, ALL_IDB_COUNTS["cells"] + 1)]
    for num in range(1, n_smears + 1):
        names += _smear_files(num, n_smears)
    return names


def cell_crop(num, seed=0):
    """ALL_IDB2 image num (1-130 blast, 131-260 normal) as 257×257×3 uint8 (behind make_all_idb)."""
    rng = item_rng(seed, "all_idb", num)
    kind = "blast" if num <= ALL_IDB_BLAST_CELLS else str(rng.choice(NORMAL_KINDS))
    centre = CELL_SIZE[0] / 2 + rng.uniform(-6, 6, 2)
    return render_field(rng, CELL_SIZE, [(centre[0], centre[1], kind)])


def smear(num, seed=0, n_smears=24):
    """ALL_IDB1 smear number num as (uint8 image, list of blast centroids (x, y)) (behind make_all_idb)."""
    rng = item_rng(seed, "all_idb", 1000 + num)
    width, height = SMEAR_SIZES[1] if num % 3 == 2 else SMEAR_SIZES[0]
    blasts = int(rng.integers(3, 9)) if num <= n_smears // 2 else 0
    kinds = ["blast"] * blasts + [str(k) for k in rng.choice(NORMAL_KINDS, int(rng.integers(1, 4)))]
    white = place_white_cells(rng, width, height, kinds)
    centroids = [(int(round(x)), int(round(y))) for x, y, kind in white if kind == "blast"]
    return render_field(rng, (width, height), white), centroids
