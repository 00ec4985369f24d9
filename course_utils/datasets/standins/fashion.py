"""Fashion-MNIST stand-in: procedural apparel silhouettes of the ten classes, written as the four idx files.

Deterministic for a seed (every chunk of images draws from its own generator); notebooks 01a, 01b and 05 read it
through the loaders when the real Fashion-MNIST is absent.
"""
import struct

import numpy as np

from ..catalog import FASHION_COUNTS, FASHION_SIDE, fashion_file
from .common import build_dataset, item_rng


def make_fashion_mnist(out_dir, seed=0, n_train=FASHION_COUNTS["train"], n_test=FASHION_COUNTS["t10k"]):
    """Write synthetic Fashion-MNIST idx files to <out_dir>/FashionMNIST/raw (stand-in for 01a, 01b, 05)."""
    splits = {"train": n_train, "t10k": n_test}
    expected = {}
    for split, n in splits.items():
        expected[f"raw/{fashion_file(split, 'images')}"] = 16 + FASHION_SIDE ** 2 * n
        expected[f"raw/{fashion_file(split, 'labels')}"] = 8 + n

    def write(folder):
        """Both splits' images and labels as idx files."""
        (folder / "raw").mkdir()
        for split_id, (split, n) in enumerate(splits.items()):
            X, y = fashion_arrays(n, seed, split_id)
            _write_idx(folder / "raw" / fashion_file(split, "images"), X)
            _write_idx(folder / "raw" / fashion_file(split, "labels"), y)

    return build_dataset(out_dir, "fashion_mnist", expected, write)


def fashion_arrays(n, seed=0, split_id=0, chunk=10000):
    """Balanced synthetic apparel images (n × 28 × 28 uint8) and labels (n,) (behind make_fashion_mnist)."""
    labels = np.arange(n) % 10
    item_rng(seed, "fashion_mnist", split_id, 10 ** 6).shuffle(labels)
    X = np.empty((n, FASHION_SIDE, FASHION_SIDE), np.uint8)
    for k, start in enumerate(range(0, n, chunk)):
        y = labels[start:start + chunk]
        X[start:start + chunk] = _render_garments(y, item_rng(seed, "fashion_mnist", split_id, k))
    return X, labels.astype(np.uint8)


def _write_idx(path, array):
    """Write a uint8 array as an uncompressed idx file (magic 0x0801 labels, 0x0803 images)."""
    header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def _render_garments(labels, rng):
    """Render one image per label: class silhouette, then brightness, shading, texture and noise."""
    shapes = np.zeros((len(labels), FASHION_SIDE, FASHION_SIDE), np.float32)
    painters = (_tshirt, _trouser, _pullover, _dress, _coat, _sandal, _shirt, _sneaker, _bag, _boot)
    for cls, paint in enumerate(painters):
        idx = np.flatnonzero(labels == cls)
        if len(idx):
            u, v = _frames(rng, len(idx))
            shapes[idx] = paint(u, v, rng, len(idx))
    return _finish(shapes, rng)


def _p(rng, n, low, high):
    """n random parameters, shaped to broadcast over images (n, 1, 1)."""
    return rng.uniform(low, high, (n, 1, 1)).astype(np.float32)


def _frames(rng, n):
    """Per-image canonical coordinates (u across, v down, centre 0), randomly scaled and shifted."""
    scale = _p(rng, n, 0.8, 1.1)
    grid = np.arange(FASHION_SIDE, dtype=np.float32) - (FASHION_SIDE - 1) / 2
    u = (grid[None, None, :] - _p(rng, n, -2.0, 2.0)) / scale
    v = (grid[None, :, None] - _p(rng, n, -2.0, 2.0)) / (scale * _p(rng, n, 0.88, 1.12))
    return u, v


def _ramp(d):
    """Anti-aliased inside indicator from a signed distance in pixels (0 outside, 1 inside)."""
    return np.clip(d + 0.5, 0.0, 1.0)


def _box(u, v, u0, u1, v0, v1):
    """Soft axis-aligned rectangle."""
    return _ramp(u - u0) * _ramp(u1 - u) * _ramp(v - v0) * _ramp(v1 - v)


def _trapezoid(u, v, v0, v1, hw0, hw1):
    """Soft trapezoid centred on u = 0, half-width hw0 at the top v0 and hw1 at the bottom v1."""
    hw = hw0 + (hw1 - hw0) * (v - v0) / (v1 - v0)
    return _ramp(hw - np.abs(u)) * _ramp(v - v0) * _ramp(v1 - v)


def _capsule(u, v, u0, v0, u1, v1, hw):
    """Soft thick segment from (u0, v0) to (u1, v1) with half-width hw and round ends."""
    du, dv = u1 - u0, v1 - v0
    t = np.clip(((u - u0) * du + (v - v0) * dv) / (du * du + dv * dv), 0.0, 1.0)
    return _ramp(hw - np.hypot(u - u0 - t * du, v - v0 - t * dv))


def _ellipse(u, v, uc, vc, a, b):
    """Soft ellipse centred at (uc, vc) with half-axes a (across) and b (down)."""
    return _ramp((1.0 - np.hypot((u - uc) / a, (v - vc) / b)) * np.minimum(a, b))


def _top(u, v, rng, n, width, length, sleeve_v):
    """Upper-body garment: torso, two sleeves ending at height sleeve_v, a round neckline."""
    hw, v0 = _p(rng, n, *width), _p(rng, n, -12.0, -10.0)
    torso = _trapezoid(u, v, v0, _p(rng, n, *length), hw, hw + _p(rng, n, 0.0, 1.2))
    au = np.abs(u)
    sleeves = _capsule(au, v, hw - 1.5, v0 + 2.5, hw + _p(rng, n, 2.5, 4.5), sleeve_v, _p(rng, n, 2.0, 3.2))
    neck = _ellipse(u, v, 0.0, v0, _p(rng, n, 2.5, 4.0), _p(rng, n, 1.5, 3.0))
    return np.maximum(torso, sleeves) * (1.0 - neck)


def _tshirt(u, v, rng, n):
    """T-shirt/top: straight torso, short sleeves."""
    return _top(u, v, rng, n, (5.8, 7.6), (9.0, 13.0), _p(rng, n, -6.0, -1.0))


def _pullover(u, v, rng, n):
    """Pullover: wider torso, long sleeves alongside the body."""
    return _top(u, v, rng, n, (6.8, 8.6), (9.0, 12.5), _p(rng, n, 7.0, 12.0))


def _coat(u, v, rng, n):
    """Coat: long torso, long sleeves, usually a dark front opening."""
    shape = _top(u, v, rng, n, (7.2, 9.0), (11.0, 13.5), _p(rng, n, 8.0, 13.0))
    opening = _box(u, v, -0.6, 0.6, -9.0, 14.0) * (_p(rng, n, 0, 1) < 0.7)
    return shape * (1.0 - 0.6 * opening)


def _shirt(u, v, rng, n):
    """Shirt: short or long sleeves, collar and button placket; the class that overlaps the others."""
    sleeve_v = np.where(_p(rng, n, 0, 1) < 0.4, _p(rng, n, -5.0, 0.0), _p(rng, n, 6.0, 12.0))
    shape = _top(u, v, rng, n, (6.3, 8.6), (9.0, 13.0), sleeve_v)
    collar = _capsule(np.abs(u), v, 0.5, -9.0, 3.5, -11.5, 1.0)
    placket = _box(u, v, -0.5, 0.5, -9.0, 12.0) * (_p(rng, n, 0, 1) < 0.6)
    return np.maximum(shape * (1.0 - 0.4 * placket), collar * 0.8)


def _dress(u, v, rng, n):
    """Dress: narrow bodice flaring to a wide hem, sometimes with short sleeves."""
    shape = _trapezoid(u, v, _p(rng, n, -13.0, -11.0), _p(rng, n, 11.0, 13.5), _p(rng, n, 3.0, 5.0),
                       _p(rng, n, 7.5, 11.0))
    sleeve_v = np.where(_p(rng, n, 0, 1) < 0.7, _p(rng, n, -8.0, -5.0), _p(rng, n, 0.0, 10.0))
    sleeves = _capsule(np.abs(u), v, 3.0, -10.0, 7.0, sleeve_v, 2.0) * (_p(rng, n, 0, 1) < 0.5)
    return np.maximum(shape, sleeves)


def _trouser(u, v, rng, n):
    """Trouser: waistband, a short filled seat, two straight legs with a gap."""
    hw = _p(rng, n, 4.8, 6.5)
    seat = _box(u, v, -hw, hw, -13.5, _p(rng, n, -7.0, -4.0))
    leg_hw = _p(rng, n, 2.2, 3.0)
    legs = _capsule(np.abs(u), v, hw - leg_hw, -10.0, hw - leg_hw + _p(rng, n, -0.5, 1.2), 13.0, leg_hw)
    return np.maximum(seat, legs)


def _sole_profile(u, v, rng, n, heel_top, toe_top):
    """Low shoe profile: top edge sloping from heel (right) to toe (left), flat sole, round toe."""
    top = toe_top + (heel_top - toe_top) * np.sqrt(np.clip((u + 12.0) / 24.0, 0.0, 1.0))
    body = _ramp(v - top) * _ramp(_p(rng, n, 6.0, 8.0) - v) * _box(u, v, -11.0, 12.0, -20.0, 20.0)
    toe = _ellipse(u, v, -10.5, _p(rng, n, 4.0, 5.0), _p(rng, n, 2.0, 3.0), _p(rng, n, 2.5, 3.5))
    return np.maximum(body, toe)


def _sneaker(u, v, rng, n):
    """Sneaker: low shoe with laces shown as darker stripes."""
    shape = _sole_profile(u, v, rng, n, _p(rng, n, -6.0, -2.0), _p(rng, n, 1.0, 3.5))
    laces = (np.sin(u * 2.2) > 0.6) * _box(u, v, -6.0, 3.0, -6.0, 2.0)
    return shape * (1.0 - 0.45 * laces * (_p(rng, n, 0, 1) < 0.6))


def _boot(u, v, rng, n):
    """Ankle boot: tall shaft on the heel side above a shoe profile, with a heel block."""
    shaft = _box(u, v, _p(rng, n, 0.0, 3.0), 11.5, _p(rng, n, -13.0, -8.0), 4.0)
    heel = _box(u, v, 7.5, 11.5, 6.0, 9.5)
    return np.maximum(np.maximum(shaft, heel), _sole_profile(u, v, rng, n, -2.0, _p(rng, n, 0.0, 2.0)))


def _sandal(u, v, rng, n):
    """Sandal: thin sole, a few thin straps and an ankle strap; sparse and often dark."""
    sole = _box(u, v, -12.0, 12.0, _p(rng, n, 4.0, 6.0), 7.5)
    straps = [_capsule(u, v, _p(rng, n, -10.0, 8.0), 5.0, _p(rng, n, -9.0, 9.0), _p(rng, n, -3.0, 1.5),
                       _p(rng, n, 0.6, 1.3)) for _ in range(3)]
    ankle = _capsule(u, v, 3.0, _p(rng, n, -5.0, -2.0), 11.0, _p(rng, n, -4.0, -1.0), 0.9)
    return np.maximum.reduce([sole, ankle, *straps])


def _bag(u, v, rng, n):
    """Bag: wide body and, most of the time, a handle arc on top."""
    hw, top = _p(rng, n, 8.5, 12.5), _p(rng, n, -6.0, -1.0)
    body = _box(u, v, -hw, hw, top, _p(rng, n, 10.0, 13.0))
    a, b = _p(rng, n, 4.0, 7.0), _p(rng, n, 5.0, 8.0)
    ring = _ellipse(u, v, 0.0, top, a, b) * (1.0 - _ellipse(u, v, 0.0, top, a - 1.8, b - 1.8))
    return np.maximum(body, ring * _ramp(top - v) * (_p(rng, n, 0, 1) < 0.75))


def _finish(shapes, rng):
    """Brightness, vertical shading, striped texture for some items, noise; return uint8 images."""
    n = len(shapes)
    last = FASHION_SIDE - 1
    grid = np.arange(FASHION_SIDE, dtype=np.float32)
    y, x = grid[None, :, None] / last - 0.5, grid[None, None, :]
    theta, period = _p(rng, n, 0.0, np.pi), _p(rng, n, 2.2, 6.0)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (x * np.cos(theta) + last * y * np.sin(theta)) / period
                                 + _p(rng, n, 0, 2 * np.pi))
    texture = 1.0 - _p(rng, n, 0.15, 0.55) * (_p(rng, n, 0, 1) < 0.4) * stripes
    shade = 1.0 + _p(rng, n, -0.5, 0.5) * y
    noise = rng.normal(0.0, 1.0, shapes.shape).astype(np.float32) * _p(rng, n, 0.04, 0.2)
    image = shapes * (_p(rng, n, 0.3, 1.0) * shade * texture + noise)
    return np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
