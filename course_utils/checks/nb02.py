"""Self-checks of notebook 02's exercises (DRIVE patch autoencoder): `nb02.exercise_1(cfg, net, seg)` and so on.

Each reads the student's objects, prints OK / NOT YET with a hint, and returns True when all items pass.
"""
import numpy as np
import torch
from torch import nn

from .. import metrics, patches
from . import report


def _first_linear(module):
    """The first nn.Linear of a module, or None."""
    return next((m for m in module.modules() if isinstance(m, nn.Linear)), None)


def exercise_1(cfg, net, seg):
    """31 × 31 patches: the parameters say so and both networks were rebuilt for them (exercise 1)."""
    size = (cfg.patch_h, cfg.patch_w)
    first_ae, first_seg = _first_linear(net), _first_linear(seg)
    n_in = 3 * 31 * 31
    heads = [m for m in seg.modules() if isinstance(m, nn.Linear)]
    return report("exercise 1, 31 × 31 patches", [
        (size == (31, 31), f"the parameters cell asks for 31 × 31 patches (it says {size[0]} × {size[1]})",
         "set patch_h = patch_w = 31 in the parameters cell and run the notebook from the top"),
        (first_ae is not None and first_ae.in_features == n_in,
         "the autoencoder takes a 31 × 31 × 3 patch as its input vector",
         "re-run the cell that builds `net = PatchAutoencoder(...)` after changing the parameters"),
        (first_seg is not None and first_seg.in_features == n_in and heads[-1].out_features == 31 * 31,
         "the vessel network takes 31 × 31 × 3 inputs and predicts 31 × 31 labels",
         "re-run the cell that builds `seg = PatchSegmenter(...)` and the fine-tuning cell"),
        (cfg.tile_stride is None or cfg.tile_stride >= 4,
         "the tiling fits a lab session (tile_stride None or at least 4)",
         "with 31 × 31 patches a stride of 2 means about 74 000 large tiles per image: try tile_stride = 8"),
    ])


def exercise_2(optimizer, scheduler, loader, cfg):
    """StepLR on the fine-tuning optimiser, step size in batches, halving, and it has stepped (exercise 2)."""
    is_step = isinstance(scheduler, torch.optim.lr_scheduler.StepLR)
    batches = len(loader)
    step = getattr(scheduler, "step_size", 0)
    lr_now = optimizer.param_groups[0]["lr"]
    return report("exercise 2, the lecture's learning-rate schedule", [
        (is_step, "the fine-tuning cell builds a torch.optim.lr_scheduler.StepLR",
         "replace `scheduler = None` by `torch.optim.lr_scheduler.StepLR(optimizer, step_size=..., gamma=0.5)`"),
        (is_step and scheduler.optimizer is optimizer, "the scheduler drives the fine-tuning optimiser",
         "pass the `optimizer` of the fine-tuning cell to StepLR (built in the same cell, after the optimiser)"),
        (is_step and step >= batches and step % batches == 0,
         "its step_size is counted in batches: a whole number of epochs × len(loader)",
         "fit steps the scheduler after every batch: step_size = epochs_between_halvings * len(loader)"),
        (is_step and np.isclose(scheduler.gamma, 0.5), "each step halves the learning rate",
         "the lecture halves the rate: gamma=0.5"),
        (is_step and lr_now < cfg.lr * (1 - 1e-9), "the learning rate has been lowered during the run",
         "pass `scheduler=scheduler` to training.fit and re-run the fine-tuning cell; with very few epochs "
         "choose a step_size below head_epochs * len(loader)"),
    ])


def exercise_3(cfg, X):
    """Patches over the whole frame: the parameter is off and the training patches include black ones (exercise 3)."""
    black = float((torch.as_tensor(X).mean(dim=1) < 0.05).float().mean())
    return report("exercise 3, ignoring the FOV", [
        (cfg.sample_in_fov is False, "the parameters cell draws the patches over the whole frame",
         "set sample_in_fov = False in the parameters cell and run the notebook from the top"),
        (black > 0, "the training patches X include black background patches",
         "re-run the patch-sampling cell (section 2) after changing the parameter, then count the black ones"),
    ])


def exercise_4(train_threshold, seg, train_cases, patch, stride, cfg):
    """The threshold with the best F1 on the training images, in (0, 1), from the tiled training maps (exercise 4)."""
    number = isinstance(train_threshold, (float, np.floating)) and 0 < train_threshold < 1
    matches = False
    if number:
        probs = [patches.predict_image(seg, c.image, patch, stride=stride, device=cfg.device) for c in train_cases]
        best, _ = metrics.best_threshold(probs, [c.vessels for c in train_cases], [c.fov for c in train_cases])
        matches = abs(float(train_threshold) - best) < 0.005
    return report("exercise 4, the threshold chosen on the training images", [
        (number, "train_threshold is a probability between 0 and 1",
         "set train_threshold to the threshold returned by metrics.best_threshold(...) on the training images"),
        (matches, "it is the best-F1 threshold of this network's maps of the training images (inside the FOV)",
         "predict every training image with patches.predict_image(seg, c.image, patch, stride=chosen_stride, "
         "device=cfg.device), then metrics.best_threshold(probs, vessels, fovs) with the training cases' maps"),
    ])
