"""Patches for notebook 02 (DRIVE patch autoencoder): seeded sampling, vectors, tiling inference.

The networks themselves are defined in notebook 02's cells (`course_utils.lessons.PatchAutoencoder`).

Conventions: an image is a numpy array H×W×C (or H×W); a patch position is its top-left corner (top, left);
a patch as a network input is a vector flattened channel-major (C, h, w), as in the lecture's 3·10·10 = 300.
"""
import numpy as np
import torch

from .devices import place


def check_patch_size(image_hw, patch_hw):
    """Raise ValueError unless 1 <= patch <= image in both directions (sampling and tiling in notebook 02)."""
    (H, W), (h, w) = image_hw[:2], patch_hw
    for name, size, limit in (("patch_h", h, H), ("patch_w", w, W)):
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or not 1 <= size <= limit:
            raise ValueError(f"{name} must be an integer between 1 and the image size {limit} (got {size!r})")


def patch_offsets(patch_hw):
    """Row and column offsets of every pixel inside an h×w patch, shaped for broadcasting (sections 2 and 6)."""
    h, w = patch_hw
    return np.arange(h)[:, None], np.arange(w)[None, :]


def extract_patches(image, tops, lefts, patch_hw):
    """Cut the patches with top-left corners (tops, lefts) out of one image: N×h×w(×C) (sections 2 and 6)."""
    dr, dc = patch_offsets(patch_hw)
    rows = np.asarray(tops)[:, None, None] + dr
    cols = np.asarray(lefts)[:, None, None] + dc
    return image[rows, cols]


def to_vectors(patches):
    """Flatten N×h×w×C (or N×h×w) patches channel-major into N×(C·h·w) float32 (network input, section 2)."""
    patches = np.asarray(patches, dtype=np.float32)
    if patches.ndim == 4:
        patches = patches.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(patches.reshape(len(patches), -1))


def from_vectors(X, patch_hw, channels=1):
    """Inverse of to_vectors: N×(C·h·w) back to N×h×w×C, or N×h×w when channels=1 (sections 3 and 6)."""
    X = np.asarray(X)
    h, w = patch_hw
    if channels == 1:
        return X.reshape(len(X), h, w)
    return X.reshape(len(X), channels, h, w).transpose(0, 2, 3, 1)


def sample_positions(image_hw, patch_hw, num, rng, fov=None):
    """Draw num random top-left corners of whole patches, centre inside fov when given (section 2)."""
    check_patch_size(image_hw, patch_hw)
    (H, W), (h, w) = image_hw[:2], patch_hw
    allowed = np.ones((H - h + 1, W - w + 1), bool)
    if fov is not None:
        allowed = np.asarray(fov, bool)[h // 2:h // 2 + H - h + 1, w // 2:w // 2 + W - w + 1]
    candidates = np.flatnonzero(allowed)
    if len(candidates) == 0:
        raise ValueError("no patch position has its centre inside the FOV mask")
    chosen = rng.choice(candidates, size=num, replace=num > len(candidates))
    return np.divmod(chosen, allowed.shape[1])


def sample_patches(images, labels, patch_hw, per_image, seed=0, fovs=None):
    """Random patches of every image and the matching label patches as float32 tensors X, y (section 2)."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for i, (image, label) in enumerate(zip(images, labels)):
        fov = None if fovs is None else fovs[i]
        tops, lefts = sample_positions(image.shape, patch_hw, per_image, rng, fov)
        X.append(to_vectors(extract_patches(image, tops, lefts, patch_hw)))
        y.append(to_vectors(extract_patches(label, tops, lefts, patch_hw)))
    return torch.from_numpy(np.concatenate(X)), torch.from_numpy(np.concatenate(y))


def tile_starts(size, patch, stride):
    """Start offsets along one axis, every stride, plus a last tile flush with the border (section 6)."""
    if not 1 <= stride <= patch <= size:
        raise ValueError(f"need 1 <= stride <= patch <= size (got stride={stride}, patch={patch}, size={size})")
    starts = np.arange(0, size - patch + 1, stride)
    if starts[-1] != size - patch:
        starts = np.append(starts, size - patch)
    return starts


def tile_corners(image_hw, patch_hw, stride=None):
    """Top-left corners (tops, lefts) of patch-sized tiles covering every pixel of an image (section 6).

    stride=None gives non-overlapping tiles; a stride above the patch size is reduced to it, so no pixel is missed.
    """
    check_patch_size(image_hw, patch_hw)
    (H, W), (h, w) = image_hw[:2], patch_hw
    s_h, s_w = (h, w) if stride is None else (min(stride, h), min(stride, w))
    tops, lefts = np.meshgrid(tile_starts(H, h, s_h), tile_starts(W, w, s_w), indexing="ij")
    return tops.ravel(), lefts.ravel()


def tiles_to_image(tiles, tops, lefts, image_hw):
    """Put N×h×w(×C) tiles back at their corners; pixels covered several times get the mean (section 6)."""
    tiles = np.asarray(tiles)
    (H, W), (h, w) = image_hw[:2], tiles.shape[1:3]
    dr, dc = patch_offsets((h, w))
    flat = (np.asarray(tops)[:, None, None] + dr) * W + np.asarray(lefts)[:, None, None] + dc
    count = np.bincount(flat.ravel(), minlength=H * W).astype(np.float64)
    values = tiles.reshape(len(tiles), h * w, -1).astype(np.float64)
    planes = [np.bincount(flat.ravel(), weights=values[:, :, c].ravel(), minlength=H * W) / count
              for c in range(values.shape[2])]
    out = np.stack(planes, axis=-1).reshape(H, W, -1).astype(tiles.dtype)
    return out if tiles.ndim == 4 else out[..., 0]


@torch.no_grad()
def predict_tiles(net, image, tops, lefts, patch_hw, batch_size, device):
    """Run net (moved to device) on the tiles of one image in batches; returns N×h×w float32 outputs (section 6)."""
    place(net, device, "predict_tiles")
    net.eval()
    outputs = []
    for i in range(0, len(tops), batch_size):
        X = to_vectors(extract_patches(image, tops[i:i + batch_size], lefts[i:i + batch_size], patch_hw))
        outputs.append(net(torch.from_numpy(X).to(device)).float().cpu().numpy())
    return from_vectors(np.concatenate(outputs), patch_hw)


def predict_image(net, image, patch_hw, stride=None, batch_size=4096, device="cpu"):
    """Probability map H×W of a whole image from a patch network, tile by tile (overlapping tiles averaged)
    (section 6); a fully convolutional net predicts a whole image at once: segmentation.predict_probs (03, 05)."""
    tops, lefts = tile_corners(image.shape, patch_hw, stride)
    tiles = predict_tiles(net, image, tops, lefts, patch_hw, batch_size, device)
    return tiles_to_image(tiles, tops, lefts, image.shape)
