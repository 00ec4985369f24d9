"""BCCD stand-in: blood-smear photographs with Pascal VOC boxes of white and red cells and the split lists.

Notebook 04b and its platelet exercise read it when the real BCCD is absent; deterministic for a seed.
"""
import numpy as np
from PIL import Image

from ..catalog import BCCD_FOLDERS, BCCD_SIZE, bccd_stem
from .blood import NORMAL_KINDS, place_red_cells, place_white_cells, render_field
from .common import build_dataset, item_rng


def make_bccd(out_dir, seed=0, n_images=48):
    """Write the synthetic BCCD stand-in (JPEGImages, Pascal VOC Annotations, ImageSets/Main) to <out_dir>/BCCD.

    640×480 fields rendered at half size and enlarged twice, so cells are about as large in pixels as in the
    real photographs; most hold one white cell, every seventh two, every eleventh none, and two to five
    platelets. Boxes: WBC, RBC and Platelets.
    Splits: the first 60 % train, the next 20 % val, the rest test.
    """
    stems = [bccd_stem(num) for num in range(n_images)]
    cut1, cut2 = round(0.6 * n_images), round(0.8 * n_images)
    lists = {"train": stems[:cut1], "val": stems[cut1:cut2], "test": stems[cut2:]}
    lists["trainval"] = lists["train"] + lists["val"]
    photos, boxes, split_lists = BCCD_FOLDERS["photos"], BCCD_FOLDERS["boxes"], BCCD_FOLDERS["lists"]

    def write(folder):
        """Photographs as JPEG (quality 90), boxes as VOC XML, the four split lists."""
        for sub in BCCD_FOLDERS.values():
            (folder / sub).mkdir(parents=True)
        for num, stem in enumerate(stems):
            image, cells = bccd_photo(num, seed)
            Image.fromarray(image).save(folder / photos / f"{stem}.jpg", quality=90)
            (folder / boxes / f"{stem}.xml").write_text(_voc_xml(stem, cells))
        for split, names in lists.items():
            (folder / split_lists / f"{split}.txt").write_text("".join(n + "\n" for n in names))

    files = [f"{sub}/{stem}.{ext}" for stem in stems for sub, ext in ((photos, "jpg"), (boxes, "xml"))]
    files += [f"{split_lists}/{split}.txt" for split in lists]
    return build_dataset(out_dir, "bccd", dict.fromkeys(files), write)


def bccd_photo(num, seed=0):
    """BCCD stand-in photograph num as (uint8 480×640×3 image, [(class, xmin, ymin, xmax, ymax)]) (make_bccd)."""
    rng = item_rng(seed, "bccd", num)
    count = 0 if num % 11 == 10 else 2 if num % 7 == 6 else 1
    kinds = [str(k) for k in rng.choice(NORMAL_KINDS, count)]
    width, height = BCCD_SIZE[0] // 2, BCCD_SIZE[1] // 2  # rendered at half size, then enlarged
    white = place_white_cells(rng, width, height, kinds, margin=45, gap=100)
    red = place_red_cells(rng, width, height, white)
    small = render_field(rng, (width, height), white, red)
    image = np.asarray(Image.fromarray(small).resize(BCCD_SIZE, Image.BICUBIC))
    boxes = [("WBC", x - 42, y - 42, x + 42, y + 42) for x, y, _ in white]
    boxes += [("RBC", x - r, y - r, x + r, y + r) for x, y, r in red if r < x < width - r and r < y < height - r]
    image, platelets = _add_platelets(image, item_rng(seed, "bccd", num, 1), white)
    return image, [(name, *(int(round(2 * min(max(v, 0), width if k % 2 == 0 else height))) for k, v in enumerate(b)))
                   for name, *b in boxes] + platelets


def _add_platelets(image, rng, white, tries=40):
    """Paint two to five purple platelets (radius 12-16 px, as in the photographs) away from the white cells;
    returns the image and their boxes at full size."""
    height, width = image.shape[:2]
    out, boxes = image.astype(np.float32), []
    yy, xx = np.mgrid[0:height, 0:width]
    count = int(rng.integers(2, 6))
    for _ in range(tries):
        if len(boxes) == count:
            break
        x, y, r = int(rng.integers(20, width - 20)), int(rng.integers(20, height - 20)), int(rng.integers(12, 17))
        if any(abs(x - 2 * wx) < 110 and abs(y - 2 * wy) < 110 for wx, wy, _ in white):
            continue
        alpha = np.clip(r + 1.0 - np.hypot(xx - x, yy - y), 0, 1)[..., None] * 0.85
        out = out * (1 - alpha) + alpha * np.array([120.0, 70.0, 150.0])
        boxes.append(("Platelets", x - r - 2, y - r - 2, x + r + 2, y + r + 2))
    return np.clip(out, 0, 255).astype(np.uint8), boxes


def _voc_xml(stem, boxes):
    """Minimal Pascal VOC annotation with BCCD's fields."""
    objects = "".join(f"<object><name>{name}</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>"
                      f"<ymax>{y1}</ymax></bndbox></object>" for name, x0, y0, x1, y1 in boxes)
    return (f"<annotation><filename>{stem}.jpg</filename><size><width>{BCCD_SIZE[0]}</width>"
            f"<height>{BCCD_SIZE[1]}</height><depth>3</depth></size>{objects}</annotation>\n")
