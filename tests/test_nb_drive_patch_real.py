"""Real-DRIVE check for notebook 02: a short patch-autoencoder training on a few real images beats chance."""
import time

import numpy as np
import pytest
import torch

from course_utils import lessons, metrics, patches, training

pytestmark = pytest.mark.usefixtures("one_thread")  # real_drive (conftest) skips when DRIVE is absent


def train_patch_segmenter(cases, patch_hw, per_image, ae_epochs, head_epochs, lr=2e-3, batch_size=50):
    """The notebook's two stages in miniature: autoencoder pre-training, then the sigmoid head."""
    torch.manual_seed(0)
    X, y = patches.sample_patches([c.image for c in cases], [c.vessels.astype(np.float32) for c in cases],
                                  patch_hw, per_image, seed=0, fovs=[c.fov for c in cases])
    ae = lessons.PatchAutoencoder(*patch_hw)
    training.fit(ae, training.TensorLoader(X, None, batch_size, seed=0), torch.nn.MSELoss(),
                 torch.optim.Adam(ae.parameters(), lr=lr), ae_epochs, "cpu")
    seg = lessons.PatchSegmenter(ae.encoder, *patch_hw)
    history = training.fit(seg, training.TensorLoader(X, y, batch_size, seed=1), torch.nn.BCELoss(),
                           torch.optim.Adam(seg.parameters(), lr=lr), head_epochs, "cpu")
    return seg, history


def test_patches_sampled_in_fov_hold_more_vessel_than_whole_frame(real_drive):
    cases = real_drive.train[:4]
    labels = [c.vessels.astype(np.float32) for c in cases]
    images = [c.image for c in cases]
    _, y_fov = patches.sample_patches(images, labels, (10, 10), 500, seed=0, fovs=[c.fov for c in cases])
    _, y_all = patches.sample_patches(images, labels, (10, 10), 500, seed=0)
    assert y_fov.mean() > y_all.mean() > 0


def test_short_patch_training_reaches_vessel_auc_above_chance(real_drive):
    start = time.perf_counter()
    seg, history = train_patch_segmenter(real_drive.train[:10], (10, 10), 500, ae_epochs=2, head_epochs=20)
    assert history["train_loss"][-1] < history["train_loss"][0]
    cases = real_drive.test[:2]
    probs = [patches.predict_image(seg, c.image, (10, 10), stride=5) for c in cases]
    assert all(p.shape == c.vessels.shape for p, c in zip(probs, cases))
    result = metrics.binary_metrics(probs, [c.vessels for c in cases], [c.fov for c in cases])
    print(f"vessel AUC inside the FOV after {time.perf_counter() - start:.1f} s: {result['auc']:.3f}")
    assert result["auc"] > 0.8
