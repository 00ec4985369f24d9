"""Microscope fields of stained blood, shared by the ALL-IDB and BCCD stand-ins: red cells, white cells of four
kinds (lymphoblast, lymphocyte, neutrophil, monocyte), Beer-Lambert light and noise."""
import math

import numpy as np

from .common import smooth_noise

NORMAL_KINDS = ("lymphocyte", "lymphocyte", "lymphocyte", "neutrophil", "neutrophil", "monocyte")


def place_white_cells(rng, width, height, kinds, margin=70, gap=130):
    """Random positions for white cells, at least `gap` pixels apart and `margin` from the border."""
    placed = []
    for kind in kinds:
        for _ in range(200):
            x, y = rng.uniform(margin, width - margin), rng.uniform(margin, height - margin)
            if all(math.hypot(x - px, y - py) >= gap for px, py, _ in placed):
                placed.append((x, y, kind))
                break
    return placed


def render_field(rng, size, white, red=None):
    """Microscope field: stained plasma, red cells (placed here unless given), the given white cells;
    Beer-Lambert light, noise."""
    width, height = size
    stain = _stain(rng)
    od = np.broadcast_to(stain["plasma"], (height, width, 3)).copy()
    for x, y, r in place_red_cells(rng, width, height, white) if red is None else red:
        _paint_red_cell(od, rng, x, y, r, stain)
    for x, y, kind in white:
        _paint_white_cell(od, rng, x, y, kind, stain)
    yy, xx = np.ogrid[0:height, 0:width]
    rel2 = ((xx - width / 2) ** 2 + (yy - height / 2) ** 2).astype(np.float32) / max(width, height) ** 2
    light = stain["light"] * (1.0 - 0.25 * rel2)[..., None]
    image = light * np.exp(-od) + rng.standard_normal(od.shape, dtype=np.float32) * 2.0
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _stain(rng):
    """Per-image light and optical densities (RGB) of plasma, red cells, cytoplasm and nuclei."""
    tone = rng.uniform(0.85, 1.15, 3).astype(np.float32)
    return {"light": np.float32([250, 246, 248]) * rng.uniform(0.94, 1.02, 3).astype(np.float32),
            "plasma": np.float32([0.02, 0.05, 0.03]) * tone,
            "red": np.float32([0.10, 0.50, 0.32]) * tone * rng.uniform(0.85, 1.15),
            "cytoplasm": np.float32([0.30, 0.22, 0.08]) * tone,
            "granular": np.float32([0.12, 0.28, 0.12]) * tone,
            "nucleus": np.float32([0.85, 1.25, 0.42]) * tone * rng.uniform(0.85, 1.15)}


def place_red_cells(rng, width, height, white):
    """Red cells on a jittered grid with gaps and overlaps, pushed out of the white cells' area."""
    radius = rng.uniform(21.0, 25.0)
    spacing = 2 * radius * rng.uniform(1.0, 1.2)
    gx, gy = np.meshgrid(np.arange(-spacing, width + spacing, spacing),
                         np.arange(-spacing, height + spacing, spacing))
    xy = np.stack([gx.ravel(), gy.ravel()], 1) + rng.uniform(-0.35, 0.35, (gx.size, 2)) * spacing
    keep = rng.random(len(xy)) < rng.uniform(0.7, 0.95)
    for x, y, _ in white:
        keep &= np.hypot(xy[:, 0] - x, xy[:, 1] - y) > 55 + 0.6 * radius
    radii = radius + rng.normal(0.0, 1.5, len(xy))
    return [(x, y, r) for (x, y), r in zip(xy[keep].tolist(), radii[keep].tolist(), strict=True)]


def _patch(od, x, y, radius):
    """Canvas slices around (x, y) and the offsets dx, dy of their pixels from (x, y); None if off-canvas."""
    height, width = od.shape[:2]
    r = int(radius) + 3
    y0, y1 = max(0, int(y) - r), min(height, int(y) + r + 1)
    x0, x1 = max(0, int(x) - r), min(width, int(x) + r + 1)
    if y0 >= y1 or x0 >= x1:
        return None
    dy, dx = np.ogrid[y0:y1, x0:x1]
    return (slice(y0, y1), slice(x0, x1)), (dx - x).astype(np.float32), (dy - y).astype(np.float32)


def _round_alpha(rng, dx, dy, radius, wobble=0.05):
    """Soft coverage (1.5-pixel edge) of a round outline, made irregular by 2nd and 3rd harmonics."""
    rho = np.hypot(dx, dy) + 1e-6
    c, s = dx / rho, dy / rho
    a2, a3 = rng.uniform(-wobble, wobble, 2) * (1.0, 0.5)
    b2, b3 = rng.uniform(-wobble, wobble, 2) * (1.0, 0.5)
    harmonics = a2 * (c * c - s * s) + b2 * 2 * c * s + a3 * c * (4 * c * c - 3) + b3 * s * (3 - 4 * s * s)
    return np.clip((radius * (1.0 + harmonics) - rho) / 1.5 + 0.5, 0.0, 1.0)


def _paint_red_cell(od, rng, x, y, radius, stain):
    """Add a red cell: a slightly oval biconcave disc, so a pale centre and a denser rim."""
    patch = _patch(od, x, y, radius * 1.1)
    if patch is None:
        return
    box, dx, dy = patch
    squash = rng.uniform(-0.06, 0.06)
    d2 = (dx * (1.0 + squash)) ** 2 + (dy * (1.0 - squash)) ** 2
    alpha = np.clip((radius - np.sqrt(d2)) / 1.5 + 0.5, 0.0, 1.0)
    thickness = 1.0 - 0.65 * np.exp(d2 * (-1.0 / (0.45 * radius) ** 2))
    od[box] += (alpha * thickness)[..., None] * stain["red"]


def _paint_white_cell(od, rng, x, y, kind, stain):
    """Add a white cell: cytoplasm, then a textured purple nucleus whose shape depends on the kind."""
    cell = _WHITE_CELLS[kind](rng)
    box, dx, dy = _patch(od, x, y, cell["radius"] * 1.1)
    outline = _round_alpha(rng, dx, dy, cell["radius"], 0.08)
    core = cell["nucleus"](rng, dx, dy)
    chromatin = 1.0 + cell["clumping"] * _patch_noise(rng, dx.shape[1], dy.shape[0], cell["grain"])
    od[box] += (outline * (1.0 - core))[..., None] * stain[cell["cytoplasm"]] * rng.uniform(0.7, 1.2)
    od[box] += (core * chromatin)[..., None] * stain["nucleus"] * cell["density"]


def _patch_noise(rng, width, height, grain):
    """Smooth noise over a patch with blobs about `grain` pixels across (chromatin, granules)."""
    return smooth_noise(rng, (width, height), (max(2, int(height / grain) + 2), max(2, int(width / grain) + 2)))


def _blast(rng):
    """Lymphoblast: large cell, large round nucleus (high N/C ratio), fine chromatin, pale nucleoli."""
    r = rng.uniform(36.0, 52.0)
    rn, off = r * rng.uniform(0.78, 0.9), rng.uniform(-0.06, 0.06, 2) * r

    def nucleus(rng, dx, dy):
        """Round nucleus with 1-3 paler nucleoli."""
        core = _round_alpha(rng, dx - off[0], dy - off[1], rn, 0.06)
        for _ in range(int(rng.integers(1, 4))):
            nx, ny = off + rng.uniform(-0.45, 0.45, 2) * rn
            core = core * (1.0 - 0.35 * _round_alpha(rng, dx - nx, dy - ny, rng.uniform(3.5, 6.0)))
        return core
    return {"radius": r, "nucleus": nucleus, "grain": 3.0, "clumping": 0.12,
            "density": rng.uniform(0.75, 0.95), "cytoplasm": "cytoplasm"}


def _lymphocyte(rng):
    """Normal lymphocyte: small cell, dense dark round nucleus with coarse chromatin clumps."""
    r = rng.uniform(25.0, 37.0)
    rn, off = r * rng.uniform(0.74, 0.88), rng.uniform(-0.1, 0.1, 2) * r

    def nucleus(rng, dx, dy):
        """Round, slightly eccentric nucleus."""
        return _round_alpha(rng, dx - off[0], dy - off[1], rn, 0.08)
    return {"radius": r, "nucleus": nucleus, "grain": 7.0, "clumping": 0.3,
            "density": rng.uniform(1.0, 1.25), "cytoplasm": "cytoplasm"}


def _neutrophil(rng):
    """Neutrophil: mid-size cell, granular pink cytoplasm, 3-5 small nuclear lobes on an arc."""
    r = rng.uniform(34.0, 45.0)
    count, start = int(rng.integers(3, 6)), rng.uniform(0, 2 * np.pi)
    angles = start + np.arange(count) * rng.uniform(0.9, 1.3)
    lobes = [(0.45 * r * np.cos(a), 0.45 * r * np.sin(a), rng.uniform(7.0, 10.5)) for a in angles]

    def nucleus(rng, dx, dy):
        """Union of the lobes."""
        return np.maximum.reduce([_round_alpha(rng, dx - lx, dy - ly, lr, 0.1) for lx, ly, lr in lobes])
    return {"radius": r, "nucleus": nucleus, "grain": 5.0, "clumping": 0.2,
            "density": rng.uniform(0.95, 1.2), "cytoplasm": "granular"}


def _monocyte(rng):
    """Monocyte: large cell, grey-blue cytoplasm, kidney-shaped nucleus with folded chromatin."""
    r = rng.uniform(40.0, 50.0)
    rn, a = r * rng.uniform(0.55, 0.68), rng.uniform(0, 2 * np.pi)
    notch = (np.cos(a) * rn * 0.95, np.sin(a) * rn * 0.95)

    def nucleus(rng, dx, dy):
        """Round nucleus with a bite taken out of one side."""
        bite = _round_alpha(rng, dx - notch[0], dy - notch[1], 0.55 * rn)
        return _round_alpha(rng, dx, dy, rn, 0.1) * (1.0 - bite)
    return {"radius": r, "nucleus": nucleus, "grain": 6.0, "clumping": 0.2,
            "density": rng.uniform(0.8, 1.0), "cytoplasm": "cytoplasm"}


_WHITE_CELLS = {"blast": _blast, "lymphocyte": _lymphocyte, "neutrophil": _neutrophil, "monocyte": _monocyte}
