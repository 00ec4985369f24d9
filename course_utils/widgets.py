"""Interactive explorers (ipywidgets) that fall back to a static figure when no widget frontend is attached.

Live widgets need a frontend that renders them (JupyterLab or Notebook through jupyter_server, VS Code, Colab).
A headless run (nbclient, `jupyter nbconvert --execute`, papermill, nbval) gets the static figure of the default
state instead, so it never waits on widget messages (jupyter/nbclient#312, jupyter/nbconvert#2003).
`COURSE_WIDGETS=0` forces the static figure, `COURSE_WIDGETS=1` the live widgets.
"""
import os
import sys

import matplotlib.pyplot as plt
import numpy as np

from . import metrics, plotting
from .patches import tile_corners


def has_frontend():
    """True when this kernel was started by a frontend that renders widgets (every explorer asks).

    jupyter_server (JupyterLab, Notebook 7, JupyterHub) sets JPY_SESSION_NAME in its kernels' environment, VS Code
    sets VSCODE_PID, Colab imports google.colab; nbclient, nbconvert, papermill and nbval set none of them.
    """
    return bool(os.environ.get("JPY_SESSION_NAME") or os.environ.get("VSCODE_PID")
                or "google.colab" in sys.modules)


def widgets_enabled():
    """True when live widgets should be shown: COURSE_WIDGETS=1, or a widget frontend and COURSE_WIDGETS != 0."""
    setting = os.environ.get("COURSE_WIDGETS", "").strip().lower()
    if setting in ("0", "false", "no") or (setting not in ("1", "true", "yes") and not has_frontend()):
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def _show(draw, **controls):
    """Live `interact(draw, ...)` when enabled, else one static call at each control's default value.

    Each control is (ipywidgets slider class name, its keyword arguments including `value`).
    """
    if widgets_enabled():
        import ipywidgets
        sliders = {name: getattr(ipywidgets, kind)(continuous_update=False, **kwargs)
                   for name, (kind, kwargs) in controls.items()}
        return ipywidgets.interact(draw, **sliders)
    draw(**{name: kwargs["value"] for name, (kind, kwargs) in controls.items()})
    plt.show()
    return None


def _slider(kind, **kwargs):
    """Spec of one slider for `_show`."""
    return kind, kwargs


def threshold_figure(prob, truth, fov, threshold, title=""):
    """Probability map thresholded at `threshold` beside the manual, with FOV metrics (02/03 explorers)."""
    scores = metrics.binary_metrics(prob, truth, fov, threshold)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, image, name in zip(axes, [prob, (prob >= threshold) & fov, truth],
                               ["probability", f"prediction (t={threshold:.2f})", "manual"], strict=True):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax.set_title(name)
        ax.axis("off")
    fig.suptitle(f"{title}  acc {scores['accuracy']:.3f}  sens {scores['sensitivity']:.3f}  "
                 f"spec {scores['specificity']:.3f}  F1 {scores['f1']:.3f}")
    return scores


def threshold_explorer(probs, truths, fovs, names=None, threshold=0.5):
    """Vessel-probability threshold slider with live metrics inside the FOV (02 and 03)."""
    names = names or [str(i) for i in range(len(probs))]

    def draw(index, threshold):
        threshold_figure(probs[index], truths[index], fovs[index], threshold, names[index])

    return _show(draw, index=_slider("IntSlider", min=0, max=len(probs) - 1, value=0, description="image"),
                 threshold=_slider("FloatSlider", min=0.05, max=0.95, step=0.05, value=threshold,
                                   description="threshold"))


def tiling_figure(image_hw, patch, overlap):
    """How many tiles cover each pixel for a patch size and overlap (02 tiling explorer)."""
    stride = max(1, patch - overlap)
    tops, lefts = tile_corners(image_hw, (patch, patch), stride)
    coverage = np.zeros(image_hw[:2], np.int32)
    for top, left in zip(tops, lefts, strict=True):
        coverage[top:top + patch, left:left + patch] += 1
    fig, ax = plt.subplots(figsize=(5, 5))
    shown = ax.imshow(coverage, cmap="viridis")
    plt.colorbar(shown, ax=ax, fraction=0.046, label="tiles per pixel")
    ax.set_title(f"{len(tops)} tiles of {patch}×{patch}, stride {stride}: min {coverage.min()}, "
                 f"max {coverage.max()}", fontsize=9)
    return coverage


def tiling_explorer(image_hw, patch=10, overlap=0):
    """Patch-size / tile-overlap explorer: coverage of every pixel, borders included (02)."""
    def draw(patch, overlap):
        tiling_figure(image_hw, patch, min(overlap, patch - 1))

    return _show(draw, patch=_slider("IntSlider", min=4, max=64, value=patch, description="patch"),
                 overlap=_slider("IntSlider", min=0, max=32, value=overlap, description="overlap"))


def reconstruction_browser(X, recon, per_page=8, titles=("original", "reconstruction")):
    """Page through originals and their reconstructions, clamped to [0, 1] (01a, 01b, 05)."""
    pages = max(1, (len(X) + per_page - 1) // per_page)

    def draw(page):
        rows = list(X[page * per_page:(page + 1) * per_page]) + list(recon[page * per_page:(page + 1) * per_page])
        fig = plotting.show_images(rows, ncols=len(rows) // 2, size=1.4)
        fig.axes[0].set_title(titles[0], fontsize=8, loc="left")
        fig.axes[len(rows) // 2].set_title(titles[1], fontsize=8, loc="left")

    return _show(draw, page=_slider("IntSlider", min=0, max=pages - 1, value=0, description="page"))


def cam_explorer(images, cams, names=None, alpha=0.5):
    """CAM image picker with overlay opacity (04); cams are maps already upsampled to each image."""
    names = names or [str(i) for i in range(len(images))]

    def draw(index, alpha):
        plotting.overlay(images[index], cams[index], alpha=alpha, title=names[index])

    return _show(draw, index=_slider("IntSlider", min=0, max=len(images) - 1, value=0, description="image"),
                 alpha=_slider("FloatSlider", min=0.0, max=1.0, step=0.05, value=alpha, description="opacity"))
