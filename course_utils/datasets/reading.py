"""Reading single files with errors that name the file and the fix: images, binary label images, .xyc, VOC XML."""
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PIL import Image

from .catalog import BCCD_CLASSES


class DataError(RuntimeError):
    """A dataset file or folder is missing or bad; the message names it and the command that fixes it."""


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


def read_rgb(path, size, fix):
    """An image as a uint8 H×W×3 array (read_image, then RGB)."""
    return np.asarray(read_image(path, size, fix).convert("RGB"))


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


def read_parsed(path, parse, fix):
    """Parse a text file with parse(text, path); a DataError gets the fix appended (.xyc and VOC files)."""
    try:
        return parse(Path(path).read_text(encoding="utf-8", errors="replace"), path)
    except DataError as error:
        raise DataError(f"{error}. Fix: {fix}") from None
