"""Seeded splits: validation images out of a training set, stratified test sets, Fashion-MNIST's three sets
(notebooks 01a, 01b, 02, 03, 04, 05). They read no files."""
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch


@dataclass
class DriveSplit:
    """DRIVE training cases split for model selection: train, validation; note names the validation images."""
    train: list
    validation: list
    note: str


def validation_split(items, num_val, seed=0):
    """Seeded split of a list into (train, validation) lists, order kept (05; drive_validation_split uses it)."""
    if not 0 < num_val < len(items):
        raise ValueError(f"num_val must be between 1 and {len(items) - 1} (got {num_val})")
    val_idx = set(np.random.default_rng(seed).permutation(len(items))[:num_val].tolist())
    return ([item for i, item in enumerate(items) if i not in val_idx],
            [item for i, item in enumerate(items) if i in val_idx])


def drive_validation_split(cases, n_val=4, seed=0):
    """Seeded split of DRIVE training cases into training and validation images, order kept (02, 03, 05)."""
    if not 1 <= n_val < len(cases):
        raise ValueError(f"n_val must be between 1 and {len(cases) - 1} (got {n_val})")
    train, validation = validation_split(cases, n_val, seed)
    note = (f"validation images (seed {seed}): {', '.join(c.name for c in validation)}; training images: "
            f"the other {len(train)} of {len(cases)}")
    return DriveSplit(train, validation, note)


def _largest_remainder(shares, total):
    """Round non-negative shares to integers summing exactly to total (largest remainders first)."""
    counts = np.floor(shares).astype(int)
    order = np.argsort(-(shares - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def stratified_split(labels, n_test, seed):
    """Seeded split with exactly n_test test items, each class in proportion (notebook 04: 200/60)."""
    labels = np.asarray(labels)
    if not 0 < n_test < len(labels):
        raise ValueError(f"n_test must be between 1 and {len(labels) - 1} (got {n_test})")
    classes, counts = np.unique(labels, return_counts=True)
    quotas = _largest_remainder(counts * n_test / len(labels), n_test)
    rng = np.random.default_rng(seed)
    picks = [rng.permutation(np.flatnonzero(labels == c))[:q] for c, q in zip(classes, quotas, strict=True)]
    test_idx = np.sort(np.concatenate(picks))
    return np.setdiff1d(np.arange(len(labels)), test_idx), test_idx


class FashionSplits(NamedTuple):
    """Flattened Fashion-MNIST training, validation and test images (N×784) with their labels."""
    X: torch.Tensor
    y: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


def fashion_splits(fm, n_val, n_train=None, seed=0):
    """Stratified validation images out of the training set, the first n_train of the rest, the test set;
    images flattened to N×784 (01a, 01b and their solutions, data cell)."""
    train_idx, val_idx = stratified_split(fm.y_train, n_val, seed)
    train_idx, val_idx = torch.as_tensor(train_idx[:n_train]), torch.as_tensor(val_idx)
    return FashionSplits(fm.X_train[train_idx].flatten(1), fm.y_train[train_idx],
                         fm.X_train[val_idx].flatten(1), fm.y_train[val_idx], fm.X_test.flatten(1), fm.y_test)
