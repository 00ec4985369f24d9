"""Figures shared by the notebooks: curves, image rows, weight tiles, confusion matrices, overlays."""
import math

import matplotlib.pyplot as plt
import numpy as np
import torch


def _numpy(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def plot_history(history, keys=None, title="", ax=None):
    """Per-epoch curves of a fit() history (loss / accuracy curve sections)."""
    keys = keys or [k for k, v in history.items() if isinstance(v, list) and k != "epoch_time"]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for key in keys:
        values = history[key]
        ax.plot(range(1, len(values) + 1), values, marker="o" if len(values) < 30 else None, label=key)
    ax.set_xlabel("epoch")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def to_display(image):
    """Image as H×W or H×W×3 floats clamped to [0, 1] (accepts C×H×W tensors)."""
    image = _numpy(image).astype(np.float32)
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
        image = np.moveaxis(image, 0, -1)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return np.clip(image, 0.0, 1.0)


def show_images(images, titles=None, ncols=None, cmap="gray", size=2.2):
    """A grid of images, clamped to [0, 1] before display (reconstructions, maps, masks)."""
    n = len(images)
    ncols = ncols or n
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(to_display(images[i]), cmap=cmap, vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig


def near_square(n):
    """(h, w) with h·w = n and h the largest divisor not above √n: tile shape for n weights (01a head tiles)."""
    h = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
    return h, n // h


def weight_mosaic(W, tile_shape, ncols=None, pad=1):
    """One image of the rows of W (one per unit; colour rows flattened C×H×W) as h×w(×3) tiles in a grid,
    NaN between them (weight_tiles)."""
    W = _numpy(W).astype(np.float32)
    n = W.shape[0]
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    h, w = tile_shape[:2]
    depth = tile_shape[2:] if len(tile_shape) == 3 else ()
    grid = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad) + tuple(depth), np.nan, np.float32)
    for i in range(n):
        r, c = divmod(i, ncols)
        tile = W[i].reshape(tile_shape[2], h, w).transpose(1, 2, 0) if depth else W[i].reshape(h, w)
        grid[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = tile
    return grid


def weight_tiles(W, tile_shape, ax=None, title="", scale=None, ncols=None):
    """One tile per hidden unit (rows of W), shared symmetric colour scale (weight sections)."""
    grid = weight_mosaic(W, tile_shape, ncols)
    scale = scale or float(np.nanmax(np.abs(grid))) or 1.0
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    if grid.ndim == 3:  # colour tiles: map [-scale, scale] to [0, 1], grey padding
        shown = np.nan_to_num((grid / scale + 1) / 2, nan=1.0)
        ax.imshow(np.clip(shown, 0, 1))
    else:
        image = ax.imshow(np.ma.masked_invalid(grid), cmap="seismic", vmin=-scale, vmax=scale)
        plt.colorbar(image, ax=ax, fraction=0.046)
    ax.set_title(title)
    ax.axis("off")
    return ax


def show_weight_change(W_before, W_after, tile_shape, ncols=None,
                       titles=("before training", "after training", "difference (own scale)")):
    """Before / after / difference tiles; before and after share one symmetric scale (weight sections)."""
    W_before, W_after = _numpy(W_before), _numpy(W_after)
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    scale = float(max(np.abs(W_before).max(), np.abs(W_after).max()))
    weight_tiles(W_before, tile_shape, axes[0], titles[0], scale, ncols)
    weight_tiles(W_after, tile_shape, axes[1], titles[1], scale, ncols)
    weight_tiles(W_after - W_before, tile_shape, axes[2], titles[2], None, ncols)
    fig.tight_layout()
    return fig


def plot_f1_by_threshold(curves, chosen, xlabel="threshold", ax=None):
    """F1 against threshold of each image set ({name: (thresholds, f1s)}), its chosen threshold dashed in the same
    colour (02 and 03 solutions, where to choose the threshold)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.5))
    for name, (thresholds, f1s) in curves.items():
        line, = ax.plot(thresholds, f1s, label=f"{name} images")
        ax.axvline(chosen[name], color=line.get_color(), linewidth=1, linestyle="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("F1 inside the FOV")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_confusion(cm, class_names, ax=None, title="confusion matrix"):
    """Confusion-matrix heat map with counts and class names (classifier sections)."""
    cm = _numpy(cm)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.6 * len(class_names), 0.8 + 0.6 * len(class_names)))
    ax.imshow(cm, cmap="Blues")
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    for (i, j), count in np.ndenumerate(cm):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > cm.max() / 2 else "black", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return ax


def overlay(image, heatmap, alpha=0.5, ax=None, title="", cmap="jet"):
    """Heat map (any range, normalised to [0, 1]) drawn over an image (CAM and probability maps)."""
    heat = _numpy(heatmap).astype(np.float32)
    heat = (heat - heat.min()) / (heat.max() - heat.min() + 1e-12)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    shown = _numpy(image)
    ax.imshow(shown if shown.dtype == np.uint8 else to_display(shown))
    ax.imshow(heat, cmap=cmap, alpha=alpha)
    ax.set_title(title)
    ax.axis("off")
    return ax
