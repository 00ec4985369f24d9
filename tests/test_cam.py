"""Tests for course_utils.cam (notebook 04)."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torchvision

from course_utils import cam


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = cam.build_resnet18(num_classes=2, weights=None)
    return model.eval()


# ---------------------------------------------------------------- model

def test_build_resnet18_head_is_512_to_2(net):
    assert net.fc.in_features == 512 and net.fc.out_features == 2


def test_build_resnet18_rejects_unknown_weights():
    with pytest.raises(ValueError, match="weights="):
        cam.build_resnet18(weights="pretrained")


def test_auto_without_cache_or_download_is_from_scratch(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert cam.load_imagenet_state("auto", allow_download=False) is None
    cam.build_resnet18(weights="auto", allow_download=False)
    assert "FROM SCRATCH" in capsys.readouterr().out


def test_auto_uses_cached_weights(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(1)
    reference = torchvision.models.resnet18().state_dict()
    cam.cached_weights_path().parent.mkdir(parents=True)
    torch.save(reference, cam.cached_weights_path())
    loaded = cam.build_resnet18(weights="auto", allow_download=False)
    assert "ImageNet" in capsys.readouterr().out
    assert torch.equal(loaded.conv1.weight, reference["conv1.weight"])
    assert loaded.fc.out_features == 2


def test_host_reachable_false_for_unresolvable_host():
    assert not cam.host_reachable("https://no-such-host.invalid/x.pth", timeout=1.0)


# ---------------------------------------------------------------- preprocessing

def test_to_chw_keeps_orientation():
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    X = cam.to_chw(image)
    assert X.shape == (3, 2, 3)
    assert torch.allclose(X[:, 1, 2] * 255, torch.tensor(image[1, 2], dtype=torch.float32))


def test_normalise_imagenet_maps_imagenet_mean_to_zero_and_std_to_one():
    mean = torch.tensor(cam.IMAGENET_MEAN).view(3, 1, 1).expand(3, 4, 5)
    std = torch.tensor(cam.IMAGENET_STD).view(3, 1, 1)
    assert torch.allclose(cam.normalise_imagenet(mean), torch.zeros(3, 4, 5), atol=1e-6)
    assert torch.allclose(cam.normalise_imagenet(mean + std), torch.ones(3, 4, 5), atol=1e-6)


def test_preprocess_crops_resizes_each_crop_to_square():
    images = [np.full((257, 257, 3), 128, np.uint8), np.zeros((240, 250, 3), np.uint8)]
    X = cam.preprocess_crops(images, 64)
    assert X.shape == (2, 3, 64, 64) and X.dtype == torch.float32
    expected = (128 / 255 - cam.IMAGENET_MEAN[0]) / cam.IMAGENET_STD[0]
    assert abs(float(X[0, 0].mean()) - expected) < 1e-4


def test_preprocess_crops_context_is_a_mirrored_border():
    image = np.random.default_rng(0).integers(0, 256, (257, 257, 3), dtype=np.uint8)
    plain = cam.preprocess_crops([image], 32)
    padded = cam.preprocess_crops([image], 32, context=4)
    assert padded.shape == (1, 3, 40, 40)
    assert torch.equal(padded[:, :, 4:36, 4:36], plain)
    assert torch.equal(padded[:, :, 3, 4:36], plain[:, :, 1])


def test_preprocess_smear_keeps_aspect_and_scale():
    smear = np.zeros((300, 500, 3), np.uint8)
    smear[:150] = 255
    x = cam.preprocess_smear(smear, 128 / 257)
    assert x.shape == (1, 3, 149, 249)
    assert x[0, 0, :70].mean() > x[0, 0, 80:].mean()


# ---------------------------------------------------------------- augmentation

def test_dihedral_gives_eight_distinct_views():
    X = torch.arange(9.0).reshape(1, 3, 3)
    views = [cam.dihedral(X, k) for k in range(8)]
    assert torch.equal(views[0], X) and torch.equal(views[1], torch.rot90(X, 1, dims=(-2, -1)))
    assert len({tuple(v.flatten().tolist()) for v in views}) == 8


def test_random_shift_is_a_window_of_the_reflected_image():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(4, 3, 8, 8)
    assert torch.equal(cam.random_shift(X, 0, g), X)
    shifted = cam.random_shift(X, 2, g)
    padded = torch.nn.functional.pad(X, (2, 2, 2, 2), mode="reflect")
    for p, s in zip(padded, shifted, strict=True):
        windows = [p[:, i:i + 8, j:j + 8] for i in range(5) for j in range(5)]
        assert any(torch.equal(w, s) for w in windows)


def test_augmented_loader_keeps_labels_and_dihedral_views():
    from course_utils.training import TensorLoader
    X = torch.randn(10, 3, 6, 6)
    y = torch.arange(10)
    loader = cam.AugmentedLoader(TensorLoader(X, y, batch_size=4, shuffle=False), max_shift=0, seed=1)
    batches = list(loader)
    assert len(loader) == 3 and torch.equal(torch.cat([b[1] for b in batches]), y)
    for x_aug, label in zip(torch.cat([b[0] for b in batches]), y, strict=True):
        assert any(torch.equal(cam.dihedral(X[label], k), x_aug) for k in range(8))


# ---------------------------------------------------------------- CAM

def test_cam_equals_explicit_weighted_sum():
    torch.manual_seed(2)
    A = torch.randn(512, 5, 7)
    W = torch.randn(2, 512)
    explicit = sum(W[1, k] * A[k] for k in range(512))
    assert torch.allclose(cam.class_activation_map(A, W, 1), explicit, atol=1e-4)
    assert torch.allclose(cam.class_activation_map(A[None], W, 1)[0], explicit, atol=1e-4)
    assert torch.equal(cam.class_activation_map(maps=A, fc_weight=W, class_idx=1), cam.class_activation_map(A, W, 1))


def test_head_on_features_equals_network_output(net):
    x = torch.randn(2, 3, 32, 64)
    with torch.no_grad():
        assert torch.allclose(cam.head(net, cam.features(net, x)), net(x), atol=1e-5)


def test_mean_of_cam_plus_bias_is_the_logit(net):
    x = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        A = cam.features(net, x)[0]
        logits = net(x)[0]
        local = cam.local_logits(maps=A, fc=net.fc)
    for c in range(2):
        c_map = cam.class_activation_map(A, net.fc.weight, c)
        assert torch.allclose(c_map.mean() + net.fc.bias[c], logits[c], atol=1e-5)
    assert torch.allclose(local.mean(dim=(1, 2)), logits, atol=1e-5)


def test_cam_on_rectangular_300x500_input(net):
    result = cam.image_cam(net, torch.randn(1, 3, 300, 500))
    assert result.maps.shape == (512, 10, 16)
    assert result.cam.shape == (10, 16)
    assert cam.upsample(result.cam, (300, 500)).shape == (300, 500)
    assert not result.cam.requires_grad


def test_image_cam_uses_predicted_class():
    torch.manual_seed(3)
    model = cam.build_resnet18(weights=None).eval()
    x = torch.randn(1, 3, 32, 32)
    for favoured in (0, 1):
        with torch.no_grad():
            model.fc.bias.copy_(torch.tensor([50.0, -50.0]) * (1 if favoured == 0 else -1))
        result = cam.image_cam(model, x)
        assert result.class_idx == favoured
        assert torch.allclose(result.cam, cam.class_activation_map(result.maps, model.fc.weight, favoured))
    forced = cam.image_cam(model, x, class_idx=0)
    assert forced.class_idx == 0 and abs(float(forced.probs.sum()) - 1) < 1e-6


def test_channel_average_is_plain_mean():
    A = torch.arange(2 * 2 * 3, dtype=torch.float32).reshape(2, 2, 3)
    assert torch.allclose(cam.channel_average(maps=A), (A[0] + A[1]) / 2)


def test_grad_cam_at_layer4_is_relu_cam_over_area(net):
    x = torch.randn(1, 3, 64, 96)
    gmap, c = cam.grad_cam(net, x, class_idx=1)
    A = cam.features(net, x)[0].detach()
    expected = torch.relu(cam.class_activation_map(A, net.fc.weight, 1)) / (A.shape[1] * A.shape[2])
    assert c == 1 and torch.allclose(gmap, expected, atol=1e-6)


def test_grad_cam_at_layer3_has_finer_grid(net):
    gmap, c = cam.grad_cam(net, torch.randn(1, 3, 64, 96), layer="layer3")
    assert gmap.shape == (4, 6) and c in (0, 1) and float(gmap.min()) >= 0


# ---------------------------------------------------------------- peaks and pointing

def test_peak_xy_and_grid_to_image():
    m = torch.zeros(4, 6)
    m[1, 4] = 3.0
    assert cam.peak_xy(m) == (4.0, 1.0)
    xy = cam.grid_to_image([(4, 1)], (4, 6), (40, 60))
    assert np.allclose(xy, [[44.5, 14.5]])
    assert cam.peak_in_image(m, (40, 60)) == (44.5, 14.5)
    upsampled = cam.upsample(m, (40, 60))
    assert abs(cam.peak_xy(upsampled)[0] - 44.5) <= 0.5 and abs(cam.peak_xy(upsampled)[1] - 14.5) <= 0.5


def test_find_peaks_threshold_and_order():
    m = torch.zeros(7, 9)
    m[1, 1], m[5, 6], m[3, 3] = 2.0, 5.0, -1.0
    peaks = cam.find_peaks(m, threshold=0.5)
    assert peaks.tolist() == [[6.0, 5.0], [1.0, 1.0]]
    assert len(cam.find_peaks(m, threshold=3.0)) == 1


def test_pointing_score_hand_made_case():
    centroids = [np.array([[10.0, 10.0]]), np.array([[50.0, 20.0], [5.0, 5.0]]), np.zeros((0, 2))]
    peaks = [(12.0, 11.0), (6.0, 30.0), (0.0, 0.0)]
    assert cam.hits((12.0, 11.0), centroids[0], 3.0).tolist() == [True]
    assert cam.pointing_score(peaks, centroids, radius=5.0) == pytest.approx(1 / 3)
    assert cam.pointing_score(peaks, centroids, radius=30.0) == pytest.approx(2 / 3)


def test_centre_baseline():
    shapes = [(21, 41), (21, 41)]
    centroids = [np.array([[20.0, 10.0]]), np.array([[0.0, 0.0]])]
    assert cam.centre_point_score(shapes, centroids, radius=2.0) == 0.5


def test_random_baseline_matches_disc_area():
    shapes = [(100, 100)]
    centroids = [np.array([[50.0, 50.0]])]
    expected = np.pi * 10 ** 2 / 100 ** 2
    score = cam.random_point_score(shapes, centroids, radius=10.0, num_points=20000, seed=0)
    assert score == pytest.approx(expected, abs=0.01)
    assert cam.random_point_score(shapes, centroids, radius=200.0) == 1.0


# ---------------------------------------------------------------- recipes and transfer learning

def test_imagenet_required_but_absent_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(cam.runtime.ParameterError) as error:
        cam.load_imagenet_state("imagenet", allow_download=False)
    message = str(error.value)
    assert str(cam.cached_weights_path()) in message and "resnet18-f37072fd.pth" in message
    assert "Parameters cell" in message and 'weights = "auto"' in message


def test_choose_recipe_follows_the_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert cam.choose_recipe("auto", allow_download=False) == (None, "from scratch")
    assert cam.choose_recipe(None) == (None, "from scratch")
    with pytest.raises(cam.runtime.ParameterError):
        cam.choose_recipe("auto", lecture_schedule=True, allow_download=False)
    cam.cached_weights_path().parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), cam.cached_weights_path())
    state, recipe = cam.choose_recipe("auto", allow_download=False)
    assert recipe == "fine-tuning" and set(state) == set(torchvision.models.resnet18().state_dict())
    assert "FINE-TUNING" in cam.recipe_note(recipe, "auto") and "FROM SCRATCH" in cam.recipe_note("from scratch", None)


def test_recipe_settings_fill_only_what_is_none():
    settings = cam.recipe_settings("fine-tuning", lr=0.05, input_size=None)
    assert settings["lr"] == 0.05 and settings["input_size"] == 224 and settings["num_epochs"] == 15
    assert cam.recipe_settings("from scratch")["context"] == 32


@pytest.mark.parametrize("layers,trained", [("all", None), ("layer4", ("layer4.", "fc.")), ("fc", ("fc.",))])
def test_set_trainable_freezes_the_rest(layers, trained):
    net = cam.build_resnet18(weights=None)
    params = cam.set_trainable(net, layers)
    for name, p in net.named_parameters():
        assert p.requires_grad == (trained is None or name.startswith(trained))
    assert len(params) == sum(p.requires_grad for p in net.parameters())
    with pytest.raises(cam.runtime.ParameterError, match="train_layers"):
        cam.set_trainable(net, "conv")


def test_train_classifier_leaves_frozen_weights_alone(one_thread):
    torch.manual_seed(0)
    net = cam.build_resnet18(weights=None)
    cam.set_trainable(net, "fc")
    before = net.layer1[0].conv1.weight.clone(), net.fc.weight.clone()
    X, y = torch.randn(8, 3, 32, 32), torch.tensor([0, 1] * 4)
    settings = SimpleNamespace(num_epochs=2, decay_epochs=1, batch_size=4, lr=0.1, momentum=0.9, augment=True,
                               input_size=32, seed=0, device="cpu")
    history = cam.train_classifier(net, (X, y), (X, y), settings)
    assert len(history["val_accuracy"]) == 2
    assert torch.equal(net.layer1[0].conv1.weight, before[0]) and not torch.equal(net.fc.weight, before[1])
    with torch.no_grad():  # the lecture's loss: log-softmax, then the negative log-likelihood
        expected = torch.nn.functional.nll_loss(torch.nn.functional.log_softmax(net.eval()(X), dim=1), y)
    assert history["val_loss"][-1] == pytest.approx(expected.item(), rel=1e-5)


# ---------------------------------------------------------------- crops from annotated photographs

def test_object_crops_centre_boxes_and_avoid_them():
    image = np.zeros((240, 320, 3), dtype=np.uint8)
    boxes = np.array([[100.0, 80.0, 160.0, 140.0]])
    crops, labels = cam.object_crops(image, boxes, 64, 0, 3, np.random.default_rng(0))
    assert labels[0] == 1 and labels.count(0) == 3 and all(c.shape == (64, 64, 3) for c in crops)
    shares = [cam._overlap_share(w, boxes)[0] for w in [(98, 78, 162, 142), (0, 0, 64, 64)]]
    assert shares == [1.0, 0.0]


def test_crop_dataset_shrinks_and_normalises():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    X, y = cam.crop_dataset([image], [np.array([[200.0, 160.0, 400.0, 340.0]])], 0.25, 64, negatives=1)
    assert X.shape == (2, 3, 64, 64) and y.tolist() == [1, 0]
    assert cam.shrink(image, 0.25).shape == (120, 160, 3)


def test_cam_peaks_are_in_image_pixels(net):
    image = np.zeros((96, 128, 3), dtype=np.uint8)
    (x, y), = cam.cam_peaks(net, [image], 1.0, 1)
    assert 0 <= x < 128 and 0 <= y < 96
