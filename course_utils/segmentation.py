"""Semantic segmentation on DRIVE (notebooks 03 and 05): FOV-aware labels, crops, flips, inference.

The networks (SegNet, U-Net) are defined in notebook 03's cells; later notebooks import them from
`course_utils.lessons`.
"""
import numpy as np
import torch
import torch.nn.functional as F

from .training import AugmentedLoader, as_input, prepare_for_device

OUTSIDE, VESSEL, TISSUE = 0, 1, 2
CLASS_NAMES = ("outside FOV", "vessel", "tissue")


def make_labels(vessels, fov):
    """3-class label map: 0 outside the FOV, 1 vessel, 2 retinal tissue (03, section "Labels")."""
    vessels, fov = np.asarray(vessels), np.asarray(fov)
    if vessels.dtype != bool or fov.dtype != bool:
        raise TypeError("make_labels needs boolean masks; threshold label images without interpolating them")
    labels = np.full(fov.shape, OUTSIDE, dtype=np.int64)
    labels[fov & vessels] = VESSEL
    labels[fov & ~vessels] = TISSUE
    return labels


def standardise_in_fov(image, fov):
    """H×W×3 image in [0,1] → float32 3×H×W, each channel standardised inside the FOV, 0 outside (03, "Data")."""
    image, fov = np.asarray(image, dtype=np.float32), np.asarray(fov, dtype=bool)
    inside = image[fov]
    mean, std = inside.mean(axis=0), inside.std(axis=0) + 1e-6
    out = (image - mean) / std
    out[~fov] = 0.0
    return np.ascontiguousarray(out.transpose(2, 0, 1))


def gaussian_blur(x, sigma):
    """Separable Gaussian blur of a C×H×W tensor, borders mirrored (local_contrast)."""
    radius = max(1, int(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-t ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    c = x.shape[0]
    out = F.pad(x[None], (radius,) * 4, mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)[0]


def local_contrast(image, fov, sigma=8.0):
    """H×W×3 image in [0,1] → float32 3×H×W: each channel minus its local mean, over its local standard
    deviation (Gaussian window of `sigma` px, FOV pixels only), 0 outside the FOV (03, "Data")."""
    x = torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)
    inside = torch.from_numpy(np.asarray(fov, dtype=bool)).float()[None]
    weight = gaussian_blur(inside, sigma).clamp_min(1e-3)  # share of FOV pixels in each window
    centred = x - gaussian_blur(x * inside, sigma) / weight
    spread = (gaussian_blur(centred ** 2 * inside, sigma) / weight).sqrt()
    return np.ascontiguousarray((centred / (spread + 1e-3) * inside).numpy())


def pad_to_size(x, y, size):
    """Pad a C×H×W image with 0 and its H×W labels with OUTSIDE up to at least size×size (used by random_crops)."""
    pad_h, pad_w = max(0, size - x.shape[1]), max(0, size - x.shape[2])
    if pad_h or pad_w:
        x = np.pad(x, ((0, 0), (0, pad_h), (0, pad_w)))
        y = np.pad(y, ((0, pad_h), (0, pad_w)), constant_values=OUTSIDE)
    return x, y


def random_crops(x, y, num_crops, size, rng):
    """num_crops random size×size windows of a C×H×W image and its labels, by index slicing only (03, "Crops")."""
    x, y = pad_to_size(x, y, size)
    tops = rng.integers(0, x.shape[1] - size + 1, num_crops)
    lefts = rng.integers(0, x.shape[2] - size + 1, num_crops)
    X = np.stack([x[:, top:top + size, left:left + size] for top, left in zip(tops, lefts, strict=True)])
    Y = np.stack([y[top:top + size, left:left + size] for top, left in zip(tops, lefts, strict=True)])
    return X, Y


def make_crop_set(inputs, labels, num_crops, size, seed=0):
    """Stack num_crops seeded random crops from every (input, label) pair into tensors N×C×s×s and N×s×s (03)."""
    rng = np.random.default_rng(seed)
    pairs = [random_crops(x, y, num_crops, size, rng) for x, y in zip(inputs, labels)]
    X = torch.from_numpy(np.concatenate([p[0] for p in pairs]))
    y = torch.from_numpy(np.concatenate([p[1] for p in pairs]))
    return X, y


def random_flips(X, y, generator=None):
    """Flip each crop and its labels left-right and/or up-down at random, by index reversal only (03, 05)."""
    X, y = X.clone(), y.clone()
    for dim in (-1, -2):
        chosen = torch.rand(len(X), generator=generator) < 0.5
        X[chosen] = X[chosen].flip(dim)
        y[chosen] = y[chosen].flip(dim)
    return X, y


class FlipLoader(AugmentedLoader):
    """Wraps a loader of (crops, labels) batches and flips them afresh every epoch (03, training)."""

    def __init__(self, loader, seed=0):
        super().__init__(loader, random_flips, seed)


def pad_to_multiple(x, multiple):
    """Zero-pad an N×C×H×W tensor at the bottom/right so H and W are multiples of `multiple` (predict_probs)."""
    h, w = x.shape[-2:]
    return F.pad(x, (0, -w % multiple, 0, -h % multiple))


@torch.no_grad()
def predict_probs(net, image, device="cpu", flips=False):
    """Probability maps C×H×W of one whole C×H×W image at native size from a fully convolutional net: pad to the
    net's stride, predict, crop back; softmax over the classes, a sigmoid for a 1-channel net (03 section 6, 05).

    flips=True averages the maps of the image and its three mirror images (test-time augmentation); net is moved
    to `device`. A patch network tiles the image instead: patches.predict_image (02).
    """
    x = torch.as_tensor(image, dtype=torch.float32)[None]
    h, w = x.shape[-2:]
    stride = getattr(net, "stride", 1)
    prepare_for_device(net, device, pad_to_multiple(x[..., :64, :64], stride), "predict_probs")
    net.eval()
    views = [(), (-1,), (-2,), (-2, -1)] if flips else [()]
    total = 0
    for dims in views:
        logits = net(as_input(pad_to_multiple(x.flip(dims), stride), net, device))[0, :, :h, :w].contiguous()
        probs = torch.sigmoid(logits) if len(logits) == 1 else torch.softmax(logits, dim=0)
        total = total + probs.flip(dims)  # dims count from the end: same axes
    return (total / len(views)).cpu()


def vessel_probability(probs, fov):
    """Vessel score p(vessel)/(p(vessel)+p(tissue)) inside the FOV, 0 outside, from C×H×W probabilities (03)."""
    probs = torch.as_tensor(probs)
    score = probs[VESSEL] / (probs[VESSEL] + probs[TISSUE]).clamp_min(1e-12)
    return torch.where(torch.as_tensor(np.asarray(fov, dtype=bool)), score, torch.zeros_like(score)).numpy()


def predicted_labels(probs):
    """Arg-max class map H×W from C×H×W probabilities (03, predicted masks)."""
    return torch.as_tensor(probs).argmax(dim=0).numpy()


def class_weights(y, num_classes=3, power=0.5):
    """Class weights (1/frequency)^power, normalised to mean 1 over present classes (03, optional loss weighting)."""
    counts = torch.bincount(torch.as_tensor(y).flatten(), minlength=num_classes).double()
    weights = torch.where(counts > 0, counts.clamp_min(1) ** -power, torch.zeros_like(counts))
    return (weights * (counts > 0).sum() / weights.sum()).float()
