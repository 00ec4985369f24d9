"""DRIVE stand-in: synthetic fundus photographs with a grown vessel tree, two observers' manuals and FOV masks.

Written in the official layout and formats (LZW TIFF images, GIF labels) for notebooks 02, 03 and 05 when the
real DRIVE is absent; deterministic for a seed (every case draws from its own generator).
"""
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..catalog import DRIVE_MANUALS, DRIVE_NUMBERS, DRIVE_SIZE, drive_paths
from .common import build_dataset, item_rng, save_gif, smooth_noise


def make_drive(out_dir, seed=0):
    """Write the synthetic DRIVE stand-in (training 21-40, test 01-20) to <out_dir>/DRIVE (02, 03, 05)."""
    def write(folder):
        """Every folder, then the 40 cases."""
        for split, numbers in DRIVE_NUMBERS.items():
            for number in numbers:
                _write_fundus(folder, split, number, fundus_sample(number, seed))

    return build_dataset(out_dir, "drive", dict.fromkeys(_drive_files()), write)


def _case_paths(folder, split, number):
    """Paths of the files the release holds for one case: image, FOV mask and the split's manuals."""
    paths = drive_paths(folder, split, f"{number:02d}")
    return {kind: paths[kind] for kind in ("image", "fov") + DRIVE_MANUALS[split]}


def _drive_files():
    """Official DRIVE file names relative to the DRIVE folder: no 2nd manual for training, as in the release."""
    return [path.as_posix() for split, numbers in DRIVE_NUMBERS.items() for number in numbers
            for path in _case_paths(Path(), split, number).values()]


def _write_fundus(folder, split, number, sample):
    """Write one fundus image, its FOV mask and its manual(s) under the official names."""
    for kind, path in _case_paths(folder, split, number).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "image":
            Image.fromarray(sample["image"]).save(path, compression="tiff_lzw")  # LZW, as the real release
        else:
            save_gif(path, sample[kind])


def fundus_sample(num, seed=0):
    """One synthetic fundus: image, vessels (1st manual), vessels2 (2nd; test 1-20 only), fov (make_drive)."""
    rng = item_rng(seed, "drive", num)
    eye = _eye_geometry(rng)
    segments = _vessel_tree(rng, eye)
    fov = eye["dist"] <= eye["radius"]
    vessels = (_draw_segments(segments, segments[:, 4]) >= 0.5) & fov
    vessels2 = None
    if num in DRIVE_NUMBERS["test"]:  # the release has a 2nd manual for the test images only
        second = _second_observer(rng, segments)
        vessels2 = (_draw_segments(second, second[:, 4]) >= 0.5) & fov
    contrast = segments[:, 5] * np.clip(0.4 + 0.15 * segments[:, 4], 0.0, 1.0)
    image = _fundus_rgb(rng, eye, _draw_segments(segments, segments[:, 4], contrast, blur=1.2, scale=1))
    return {"image": image, "vessels": vessels, "vessels2": vessels2, "fov": fov}


def _eye_geometry(rng):
    """FOV circle (about 0.68 of the frame), optic disc on a random side, fovea on the temporal side."""
    width, height = DRIVE_SIZE
    cx, cy = width / 2 + rng.uniform(-4, 4), height / 2 + rng.uniform(-4, 4)
    radius = rng.uniform(265.0, 271.0)
    side = float(rng.choice([-1.0, 1.0]))  # -1: disc on the left, temporal side to the right
    disc = (cx + side * rng.uniform(0.66, 0.76) * radius, cy + rng.uniform(-30, 30))
    fovea = (cx - side * rng.uniform(0.0, 0.12) * radius, disc[1] + rng.uniform(0, 25))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return {"centre": (cx, cy), "radius": radius, "side": side, "disc": disc, "fovea": fovea,
            "disc_radius": rng.uniform(33.0, 41.0), "xx": xx, "yy": yy, "dist": np.hypot(xx - cx, yy - cy)}


def _main_vessels(rng, eye):
    """Vessels leaving the disc as (angle, target, width, contrast, pull): arcades, nasal, macular."""
    specs = []
    for vert in (-1.0, 1.0):  # superior and inferior
        specs += [(vert * rng.uniform(1.0, 1.3), vert * 0.05, rng.uniform(5.0, 6.2), 0.75, 0.05),  # artery
                  (vert * rng.uniform(1.2, 1.5), vert * 0.15, rng.uniform(6.5, 7.8), 1.0, 0.05),   # vein
                  (vert * rng.uniform(1.8, 2.1), vert * 2.6, rng.uniform(3.5, 5.0), 0.9, 0.03),    # nasal
                  (vert * rng.uniform(0.1, 0.4), vert * 0.15, rng.uniform(2.0, 3.0), 0.8, 0.03)]  # macular
    specs.append((np.pi + rng.uniform(-0.2, 0.2), np.pi, rng.uniform(2.5, 3.5), 0.85, 0.03))
    if eye["side"] > 0:  # disc on the right: mirror every direction left-right
        specs = [(np.pi - a, np.pi - t, w, c, pull) for a, t, w, c, pull in specs]
    return specs


def _vessel_tree(rng, eye, step=3.0):
    """Grow the tree from the disc, then scale widths (by 0.8-1.25) toward 8-9.5 % vessel pixels.

    Returns rows of (x0, y0, x1, y1, width, contrast, vessel id), one per 3-pixel segment.
    """
    queue = [(*eye["disc"], *spec) for spec in _main_vessels(rng, eye)]
    rows, vessel_id = [], 0
    while queue and len(rows) < 20000:
        rows += _grow_vessel(rng, eye, queue.pop(0), queue, vessel_id, step)
        vessel_id += 1
    tree = np.array(rows, np.float32).reshape(-1, 7)
    target = rng.uniform(0.08, 0.095) * DRIVE_SIZE[0] * DRIVE_SIZE[1]
    tree[:, 4] *= np.clip(target / (step * tree[:, 4].sum()), 0.8, 1.25)
    return tree


def _grow_vessel(rng, eye, start, queue, vessel_id, step, max_steps=300):
    """Random walk of one vessel: curving toward its target, tapering, spawning side branches."""
    x, y, angle, target, width, contrast, pull = start
    wiggle, chance = rng.normal(0.0, 0.06, max_steps), rng.random(max_steps)
    rows = []
    for k in range(max_steps):
        angle += wiggle[k] + pull * math.remainder(target - angle, 2 * math.pi)
        x1, y1 = x + step * math.cos(angle), y + step * math.sin(angle)
        rows.append((x, y, x1, y1, width, contrast, vessel_id))
        x, y, width = x1, y1, width * 0.995
        if chance[k] < step / (28.0 + 6.0 * width):
            width = _branch(rng, queue, x, y, angle, width, contrast)
        if width < 0.9 or _outside(eye, x, y):
            break
    return rows


def _branch(rng, queue, x, y, angle, width, contrast):
    """Queue a side branch (Murray's law split of the width); return the parent's new width."""
    child = width * rng.uniform(0.5, 0.85)
    child_angle = angle + rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.2)
    queue.append((x, y, child_angle, child_angle, child, contrast * rng.uniform(0.85, 1.0), 0.02))
    return max(width ** 3 - child ** 3, 0.0) ** (1 / 3)


def _outside(eye, x, y):
    """True once a vessel leaves the FOV or enters the avascular zone around the fovea."""
    cx, cy = eye["centre"]
    fx, fy = eye["fovea"]
    return math.hypot(x - cx, y - cy) > eye["radius"] - 3 or math.hypot(x - fx, y - fy) < 22


def _draw_segments(segments, widths, fill=None, blur=0.0, scale=2):
    """Rasterise the vessels at 2x as polylines, optional blur, then average down: coverage in [0, 1]."""
    width, height = DRIVE_SIZE
    canvas = Image.new("L", (width * scale, height * scale), 0)
    draw = ImageDraw.Draw(canvas)
    fills = np.full(len(segments), 255) if fill is None else np.round(255 * np.asarray(fill)).astype(int)
    pixel_widths = np.maximum(1, np.round(np.asarray(widths) * scale)).astype(int)
    for start, stop in _runs(segments[:, 6], pixel_widths, fills):
        points = (segments[start:stop, :4] * scale).tolist()
        line = [tuple(points[0][:2])] + [tuple(p[2:]) for p in points]
        draw.line(line, fill=int(fills[start]), width=int(pixel_widths[start]), joint="curve")
    canvas = canvas.reduce(scale)
    if blur:
        canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(canvas, np.float32) / 255.0


def _runs(*keys):
    """(start, stop) of the runs of consecutive rows where every key column stays the same."""
    change = np.zeros(len(keys[0]), bool)
    change[0] = True
    for key in keys:
        change[1:] |= key[1:] != key[:-1]
    starts = np.flatnonzero(change)
    return zip(starts.tolist(), np.append(starts[1:], len(change)).tolist(), strict=True)


def _second_observer(rng, segments):
    """The 2nd manual's segments: per-vessel width factor, a sub-pixel offset, some thin ends left out."""
    ids = segments[:, 6].astype(int)
    second = segments.copy()
    second[:, 4] *= rng.uniform(0.6, 1.3, ids.max() + 1)[ids]
    second[:, :4] += np.tile(rng.uniform(-0.5, 0.5, 2), 2).astype(np.float32)
    skips_thin = rng.random(ids.max() + 1)[ids] < 0.5
    return second[~(skips_thin & (segments[:, 4] < 1.5))]


def _fundus_rgb(rng, eye, dark):
    """Colour the retina: lighting, darker macula, bright disc, darker vessels, noise, black outside."""
    fx, fy = eye["fovea"]
    macula = 1.0 - 0.22 * np.exp(-((eye["xx"] - fx) ** 2 + (eye["yy"] - fy) ** 2) / (2 * 45.0 ** 2))
    colour = (np.array([225.0, 118.0, 66.0]) * rng.uniform(0.85, 1.1, 3)).astype(np.float32)
    rgb = (_illumination(rng, eye) * macula)[..., None] * colour
    box, glow = _disc_glow(eye)
    rgb[box] += glow[..., None] * np.float32([40.0, 95.0, 70.0])
    rgb *= 1.0 - dark[..., None] * np.float32([0.15, 0.5, 0.35])
    noise = rng.standard_normal(rgb.shape[:2], dtype=np.float32)[..., None]
    rgb += noise * np.float32([4.0, 3.5, 2.5])
    outside = eye["dist"] > eye["radius"]
    rgb[outside] = 7.0 + noise[outside]
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _illumination(rng, eye):
    """Lighting inside the FOV: radial falloff, a random tilt, broad blotches and fine choroid texture."""
    rel = eye["dist"] / eye["radius"]
    tilt = 0.12 * rng.normal() * (eye["xx"] - eye["centre"][0]) / eye["radius"]
    texture = 0.06 * smooth_noise(rng, DRIVE_SIZE, (6, 6)) + 0.025 * smooth_noise(rng, DRIVE_SIZE, (60, 60))
    return (1.0 - 0.45 * rel ** 3) * (1.0 + tilt) * (1.0 + texture)


def _disc_glow(eye):
    """Slices around the optic disc and its brightness there: a soft-edged disc with a brighter cup."""
    dx, dy = eye["disc"]
    r = int(eye["disc_radius"]) + 2
    box = slice(max(0, int(dy) - r), int(dy) + r + 1), slice(max(0, int(dx) - r), int(dx) + r + 1)
    d = np.hypot(eye["xx"][box] - dx, eye["yy"][box] - dy) / eye["disc_radius"]
    return box, np.clip((1.0 - d) * 4.0, 0.0, 1.0) * 0.6 + np.exp(-(d / 0.5) ** 2) * 0.5
