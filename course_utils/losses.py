"""Losses: the lecture's log-softmax + negative log-likelihood, soft Dice (binary and multi-class) and pixel-wise
cross-entropy with ignored pixels.

Used by notebooks 03 and 04 (training) and 05 (section 3, worked examples; section 4, the DRIVE loss ablation).
Pixels whose target equals `ignore_index` (e.g. outside the field of view) take no part in the losses that take
one. Nothing here reads files.
"""
import torch
import torch.nn.functional as F
from torch import nn


class LogSoftmaxNLLLoss(nn.Module):
    """The lecture's loss: log_softmax over the classes (dim 1), then the negative log-likelihood; N×K or
    N×K×H×W logits, optional class weights kept as a buffer so they follow the model's device (03, 04 training)."""

    def __init__(self, weight=None):
        super().__init__()
        self.register_buffer("weight", None if weight is None else torch.as_tensor(weight, dtype=torch.float32))

    def forward(self, logits, target):
        return F.nll_loss(F.log_softmax(logits, dim=1), target, weight=self.weight)


def soft_dice(prob, target, mask=None, smooth=0.0):
    """Soft Dice 2·Σ(p·t) / (Σp + Σt) of probabilities vs 0/1 targets, pooled over the mask (05, s. 3-4)."""
    # `smooth` is added on top and bottom; with smooth=0 two empty masks agree perfectly (1.0)
    prob, target = prob.float(), target.float()
    if mask is not None:
        prob, target = prob * mask, target * mask
    intersection = (prob * target).sum()
    total = prob.sum() + target.sum()
    if smooth == 0 and total == 0:
        return torch.ones((), dtype=prob.dtype, device=prob.device)
    return (2 * intersection + smooth) / (total + smooth)


def binary_target(labels, positive, ignore=None, ignore_index=-1):
    """0/1 long targets (labels == positive), with ignore_index where labels == ignore (notebook 05, section 4)."""
    target = (labels == positive).long()
    if ignore is not None:
        target[labels == ignore] = ignore_index
    return target


def split_target(target, ignore_index):
    """(target with ignored pixels set to 0, bool mask of kept pixels) for the losses below (notebook 05)."""
    if ignore_index is None:
        return target, torch.ones_like(target, dtype=torch.bool)
    keep = target != ignore_index
    return torch.where(keep, target, torch.zeros_like(target)), keep


def single_channel(logits, target):
    """Drop the channel axis of N×1×H×W binary logits so they match N×H×W targets (notebook 05)."""
    if logits.dim() == target.dim() + 1 and logits.shape[1] == 1:
        return logits[:, 0]
    if logits.shape != target.shape:
        raise ValueError(f"binary logits {tuple(logits.shape)} do not match targets {tuple(target.shape)}")
    return logits


class BinaryCrossEntropyLoss(nn.Module):
    """Pixel-wise BCE on logits for 0/1 targets, averaged over the pixels not equal to ignore_index (05, s. 4)."""

    def __init__(self, ignore_index=None):
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, logits, target):
        logits = single_channel(logits, target)
        target, keep = split_target(target, self.ignore_index)
        losses = F.binary_cross_entropy_with_logits(logits, target.float(), reduction="none")
        return (losses * keep).sum() / keep.sum().clamp_min(1)


class SoftDiceLoss(nn.Module):
    """1 − soft Dice of sigmoid(logits) against 0/1 targets, ignored pixels left out (notebook 05, section 4)."""

    def __init__(self, ignore_index=None, smooth=1.0):
        super().__init__()
        self.ignore_index, self.smooth = ignore_index, smooth

    def forward(self, logits, target):
        logits = single_channel(logits, target)
        target, keep = split_target(target, self.ignore_index)
        return 1 - soft_dice(torch.sigmoid(logits), target, keep, self.smooth)


def soft_dice_per_class(prob, target, num_classes, mask=None, smooth=0.0):
    """Soft Dice of each class: prob N×C×H×W (softmax), target N×H×W class indices (notebook 05, s. 3)."""
    onehot = F.one_hot(target, num_classes).movedim(-1, 1)
    class_mask = None if mask is None else mask.unsqueeze(1).expand_as(prob)
    scores = [soft_dice(prob[:, c], onehot[:, c], None if mask is None else class_mask[:, c], smooth)
              for c in range(num_classes)]
    return torch.stack(scores)


class MultiClassSoftDiceLoss(nn.Module):
    """1 − mean over classes of the soft Dice of softmax(logits) vs one-hot targets (notebook 05, section 3)."""

    def __init__(self, num_classes, ignore_index=None, smooth=1.0):
        super().__init__()
        self.num_classes, self.ignore_index, self.smooth = num_classes, ignore_index, smooth

    def forward(self, logits, target):
        target, keep = split_target(target, self.ignore_index)
        prob = torch.softmax(logits, dim=1)
        return 1 - soft_dice_per_class(prob, target, self.num_classes, keep, self.smooth).mean()
