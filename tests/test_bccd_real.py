"""Real microscopy (notebook 04b): a ResNet-18 trained from scratch on BCCD crops with / without a white cell
points at the white cells of the held-out (official test list) photographs far better than a random point or the
image centre.

Reads ../shared/data/BCCD in place (skipped, with the reason, when absent). Settings are 04b's defaults at a
shorter schedule: photographs shrunk by 0.25, 64-px crops, 3 epochs from scratch (lr 0.01, augmentation), hit
radius from the training boxes. Measured with seed 0 on one CPU thread: see MEASURED; the floor keeps a margin of
MARGIN over the better baseline.
"""
import numpy as np
import pytest
import torch

from course_utils import cam, losses, training
from course_utils.lessons import grad_cam, image_cam, resnet18_classifier

EPOCHS = 3
MEASURED = {"CAM": 0.838, "Grad-CAM layer3": 0.971, "image centre": 0.235, "random point": 0.095}  # 68 photographs
MARGIN = 0.3  # measured margins over the image centre: CAM 0.603, Grad-CAM 0.736


@pytest.fixture(scope="module")
def photos(real_bccd):
    return real_bccd


def test_white_cell_maps_beat_random_and_centre_on_held_out_photographs(photos):
    wbc = [b["WBC"] for b in photos.boxes]
    train, val = photos.splits["train"], photos.splits["val"]
    boxes = np.concatenate([wbc[i] for i in train if len(wbc[i])])
    radius = float(np.median((boxes[:, 2] - boxes[:, 0] + boxes[:, 3] - boxes[:, 1]) / 4))  # training photographs
    X, y = cam.crop_dataset([photos.images[i] for i in train], [wbc[i] for i in train], 0.25, 64, seed=0)
    X_val, y_val = cam.crop_dataset([photos.images[i] for i in val], [wbc[i] for i in val], 0.25, 64, seed=1)
    torch.manual_seed(0)
    net = resnet18_classifier(2)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)  # 04b's from-scratch recipe
    loader = training.AugmentedLoader(training.TensorLoader(X, y, 32, seed=0),
                                      lambda X, y, g: (cam.augment(X, 8, g), y), seed=0)
    training.fit(net, loader, losses.LogSoftmaxNLLLoss(), optimizer, EPOCHS, "cpu")
    training.recalibrate_batchnorm(net, X, "cpu")
    assert training.accuracy(training.predict(net, X_val), y_val) > 0.9
    test = [int(i) for i in photos.splits["test"] if len(wbc[i])]
    images = [photos.images[i] for i in test]
    answers = [photos.centres(i) for i in test]
    shapes = [im.shape[:2] for im in images]
    cam_peaks = cam.map_peaks(lambda x: image_cam(net, x, 1).cam, images, 0.25)
    grad_peaks = cam.map_peaks(lambda x: grad_cam(net, x, 1, "layer3")[0], images, 0.25)
    scores = {"CAM": cam.pointing_score(cam_peaks, answers, radius),
              "Grad-CAM layer3": cam.pointing_score(grad_peaks, answers, radius),
              "image centre": cam.centre_point_score(shapes, answers, radius),
              "random point": cam.random_point_score(shapes, answers, radius)}
    print(f"radius {radius:.1f} on {len(test)} photographs: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    baseline = max(scores["image centre"], scores["random point"])
    assert scores["CAM"] > baseline + MARGIN and scores["Grad-CAM layer3"] > baseline + MARGIN
