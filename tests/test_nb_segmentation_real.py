"""Real-DRIVE check for notebook 03: a short U-Net training on a few real crops beats chance inside the FOV."""
import time

import pytest
import torch

from course_utils import lessons, losses, metrics, segmentation, training

pytestmark = pytest.mark.usefixtures("one_thread")  # real_drive (conftest) skips when DRIVE is absent


def crop_tensors(cases, num_crops, size, seed):
    inputs = [segmentation.standardise_in_fov(c.image, c.fov) for c in cases]
    labels = [segmentation.make_labels(c.vessels, c.fov) for c in cases]
    return segmentation.make_crop_set(inputs, labels, num_crops, size, seed)


def test_real_drive_has_official_test_labels(real_drive_with_test_labels):
    real_drive = real_drive_with_test_labels
    assert len(real_drive.train) == 20 and len(real_drive.test) == 20
    case = real_drive.test[0]
    labels = segmentation.make_labels(case.vessels, case.fov)
    assert labels.shape == (584, 565) and set(torch.unique(torch.from_numpy(labels)).tolist()) == {0, 1, 2}
    assert case.vessels2 is not None


def test_short_unet_training_reaches_vessel_auc_above_chance(real_drive):
    torch.manual_seed(0)
    X, y = crop_tensors(real_drive.train[:6], num_crops=16, size=64, seed=0)
    net = lessons.UNet(base=8, depth=2)  # notebook 03's U-Net
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    start = time.perf_counter()
    history = training.fit(net, training.TensorLoader(X, y, batch_size=8, seed=0), losses.LogSoftmaxNLLLoss(),
                           optimizer, num_epochs=4, device="cpu")
    assert history["train_loss"][-1] < history["train_loss"][0]
    case = real_drive.test[0]
    probs = segmentation.predict_probs(net, segmentation.standardise_in_fov(case.image, case.fov))
    score = segmentation.vessel_probability(probs, case.fov)
    result = metrics.binary_metrics(score, case.vessels, case.fov)
    print(f"vessel AUC inside the FOV after {time.perf_counter() - start:.1f} s: {result['auc']:.3f}")
    assert result["auc"] > 0.85
