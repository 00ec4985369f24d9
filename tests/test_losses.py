import math

import numpy as np
import pytest
import torch

from course_utils import losses as L
from course_utils import metrics


def logit(p):
    p = torch.as_tensor(p, dtype=torch.float32)
    return torch.log(p / (1 - p))


def test_soft_dice_hand_computed():
    prob = torch.tensor([0.9, 0.2, 0.6, 0.0])
    target = torch.tensor([1, 0, 1, 0])
    # intersection 0.9 + 0.6 = 1.5; sums 1.7 and 2 -> 3 / 3.7
    assert L.soft_dice(prob, target).item() == pytest.approx(3 / 3.7)
    # smooth = 1 is added on top and bottom: 4 / 4.7
    assert L.soft_dice(prob, target, smooth=1.0).item() == pytest.approx(4 / 4.7)


def test_soft_dice_mask_drops_pixels():
    prob = torch.tensor([0.9, 0.2, 0.6, 0.0])
    target = torch.tensor([1, 0, 1, 0])
    mask = torch.tensor([True, True, False, True])
    # without the third pixel: 2 * 0.9 / (1.1 + 1)
    assert L.soft_dice(prob, target, mask).item() == pytest.approx(1.8 / 2.1)


def test_soft_dice_empty_masks_agree_perfectly():
    zeros = torch.zeros(3, 3)
    assert L.soft_dice(zeros, zeros).item() == 1.0
    assert L.soft_dice(torch.ones(3, 3), zeros).item() == 0.0


def test_soft_dice_on_hard_masks_equals_dice_metric():
    rng = np.random.default_rng(0)
    pred, truth = rng.random((2, 16, 16)) < 0.3
    expected = metrics.dice(pred, truth)
    got = L.soft_dice(torch.from_numpy(pred), torch.from_numpy(truth)).item()
    assert got == pytest.approx(expected)
    # and Dice = 2·IoU / (1 + IoU) for the same masks
    j = metrics.iou(pred, truth)
    assert got == pytest.approx(2 * j / (1 + j))


def test_binary_target_marks_ignored_pixels():
    labels = torch.tensor([[0, 1, 2], [2, 1, 0]])  # 0 outside FOV, 1 vessel, 2 tissue
    target = L.binary_target(labels, positive=1, ignore=0)
    assert target.tolist() == [[-1, 1, 0], [0, 1, -1]]
    assert L.binary_target(labels, positive=2).tolist() == [[0, 0, 1], [1, 0, 0]]


def test_split_target():
    target = torch.tensor([1, -1, 0])
    clean, keep = L.split_target(target, -1)
    assert clean.tolist() == [1, 0, 0] and keep.tolist() == [True, False, True]
    clean, keep = L.split_target(target.clamp_min(0), None)
    assert keep.all()


def test_single_channel_shapes():
    target = torch.zeros(2, 4, 4)
    assert L.single_channel(torch.zeros(2, 1, 4, 4), target).shape == (2, 4, 4)
    assert L.single_channel(torch.zeros(2, 4, 4), target).shape == (2, 4, 4)
    with pytest.raises(ValueError, match="do not match"):
        L.single_channel(torch.zeros(2, 3, 4, 4), target)


def test_bce_hand_computed_and_ignore():
    logits = torch.tensor([[0.0, math.log(3.0)]])  # sigmoid: 0.5 and 0.75
    target = torch.tensor([[1, 0]])
    # -ln 0.5 = ln 2 and -ln(1 - 0.75) = ln 4; mean 1.5 ln 2
    assert L.BinaryCrossEntropyLoss()(logits, target).item() == pytest.approx(1.5 * math.log(2))
    ignored = torch.tensor([[1, -1]])
    assert L.BinaryCrossEntropyLoss(ignore_index=-1)(logits, ignored).item() == pytest.approx(math.log(2))


def test_bce_matches_torch_and_survives_all_ignored():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 1, 5, 5, generator=g)
    target = (torch.rand(2, 5, 5, generator=g) < 0.4).long()
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], target.float())
    assert L.BinaryCrossEntropyLoss()(logits, target).item() == pytest.approx(expected.item(), rel=1e-5)
    all_ignored = torch.full_like(target, -1)
    assert L.BinaryCrossEntropyLoss(ignore_index=-1)(logits, all_ignored).item() == 0.0


def test_soft_dice_loss_hand_computed():
    prob = torch.tensor([[0.9, 0.2, 0.6, 0.5]])
    target = torch.tensor([[1, 0, 1, -1]])  # last pixel ignored
    loss = L.SoftDiceLoss(ignore_index=-1, smooth=0.0)(logit(prob), target)
    assert loss.item() == pytest.approx(1 - 3 / 3.7, rel=1e-5)


def test_soft_dice_loss_extremes():
    target = torch.tensor([[[1, 0], [0, 1]]])
    right = torch.where(target == 1, 20.0, -20.0)[:, None]
    assert L.SoftDiceLoss()(right, target).item() == pytest.approx(0.0, abs=1e-6)
    assert L.SoftDiceLoss(smooth=0.0)(-right, target).item() == pytest.approx(1.0, abs=1e-6)


def test_ignored_pixels_get_no_gradient():
    target = torch.tensor([[1, 0, -1, 1]])
    for loss_fn in (L.SoftDiceLoss(ignore_index=-1), L.BinaryCrossEntropyLoss(ignore_index=-1)):
        logits = torch.zeros(1, 4, requires_grad=True)
        loss_fn(logits, target).backward()
        assert logits.grad[0, 2].item() == 0.0
        assert logits.grad[0, 0].item() < 0 < logits.grad[0, 1].item()  # push vessel up, background down


def test_soft_dice_per_class_hand_computed():
    target = torch.tensor([[0, 1, 1]])
    p1 = torch.tensor([0.2, 0.7, 0.9])
    prob = torch.stack([1 - p1, p1])[None]  # 1×2×3
    scores = L.soft_dice_per_class(prob, target, num_classes=2)
    # class 0: 2·0.8 / (1.2 + 1); class 1: 2·1.6 / (1.8 + 2)
    assert scores.tolist() == pytest.approx([1.6 / 2.2, 3.2 / 3.8])


def test_multiclass_soft_dice_loss_hand_computed_with_ignore():
    target = torch.tensor([[0, 1, 1, -1]])
    p1 = torch.tensor([0.2, 0.7, 0.9, 0.5])
    logits = torch.log(torch.stack([1 - p1, p1]))[None]  # softmax gives back the probabilities
    loss = L.MultiClassSoftDiceLoss(2, ignore_index=-1, smooth=0.0)(logits, target)
    assert loss.item() == pytest.approx(1 - (1.6 / 2.2 + 3.2 / 3.8) / 2, rel=1e-5)


def test_multiclass_soft_dice_loss_on_images():
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 3, (2, 6, 6), generator=g)
    perfect = 30.0 * torch.nn.functional.one_hot(target, 3).movedim(-1, 1).float()
    assert L.MultiClassSoftDiceLoss(3)(perfect, target).item() == pytest.approx(0.0, abs=1e-5)
    # uniform probabilities 1/3 on 72 pixels: class c with n_c pixels scores (2·n_c/3 + 1) / (24 + n_c + 1)
    counts = torch.bincount(target.flatten(), minlength=3).double()
    expected = 1 - ((2 * counts / 3 + 1) / (24 + counts + 1)).mean()
    uniform = torch.zeros(2, 3, 6, 6)
    assert L.MultiClassSoftDiceLoss(3)(uniform, target).item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("shape", [(6, 4), (2, 4, 5, 3)])  # N×K classifier logits (04), N×K×H×W pixel logits (03)
@pytest.mark.parametrize("weighted", [False, True])
def test_lecture_loss_is_the_nll_of_the_log_softmax(shape, weighted):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(shape, generator=g)
    target = torch.randint(0, shape[1], (shape[0],) + shape[2:], generator=g)
    weight = torch.tensor([0.5, 2.0, 1.0, 3.0]) if weighted else None
    loss = L.LogSoftmaxNLLLoss(weight)(logits, target)
    torch.testing.assert_close(loss, torch.nn.functional.nll_loss(
        torch.nn.functional.log_softmax(logits, dim=1), target, weight=weight))
    # the same by hand: minus the (weighted) mean over samples/pixels of log p(true class)
    log_p = logits - logits.exp().sum(dim=1, keepdim=True).log()
    picked = log_p.gather(1, target.unsqueeze(1)).squeeze(1)
    w = torch.ones(4)[target] if weight is None else weight[target]
    torch.testing.assert_close(loss, -(w * picked).sum() / w.sum())


def test_lecture_loss_keeps_its_class_weights_as_a_buffer():
    loss = L.LogSoftmaxNLLLoss([1.0, 3.0])
    assert list(loss.state_dict()) == ["weight"] and loss.weight.dtype == torch.float32
    assert loss.weight.tolist() == [1.0, 3.0] and list(loss.parameters()) == []
    assert L.LogSoftmaxNLLLoss().weight is None
