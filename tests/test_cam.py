"""Tests for course_utils.cam (plumbing of notebooks 04 and 04b) and for the CAM definitions notebook 04 teaches
(course_utils.lessons: the head swap, features, CAM, Grad-CAM)."""
import numpy as np
import pytest
import torch
import torchvision

from course_utils import cam, training
from course_utils.lessons import (
    TRAINED_LAYERS,
    class_activation_map,
    features,
    grad_cam,
    image_cam,
    local_logits,
    resnet18_classifier,
    upsample,
)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return resnet18_classifier(num_classes=2).eval()


# ---------------------------------------------------------------- model (notebook 04's head swap) and weights

def test_resnet18_classifier_head_is_512_to_2(net):
    assert net.fc.in_features == 512 and net.fc.out_features == 2


def test_auto_without_cache_or_download_is_from_scratch(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert cam.load_imagenet_state("auto", allow_download=False) is None
    assert cam.load_imagenet_state(None) is None
    with pytest.raises(cam.settings.ParameterError, match="weights"):
        cam.load_imagenet_state("pretrained")


def test_cached_weights_fill_every_layer_but_the_new_head(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(1)
    reference = torchvision.models.resnet18().state_dict()
    cam.cached_weights_path().parent.mkdir(parents=True)
    torch.save(reference, cam.cached_weights_path())
    loaded = resnet18_classifier(2, state=cam.load_imagenet_state("auto", allow_download=False))
    assert torch.equal(loaded.conv1.weight, reference["conv1.weight"])
    assert torch.equal(loaded.layer4[1].bn2.running_var, reference["layer4.1.bn2.running_var"])
    assert loaded.fc.out_features == 2 and loaded.fc.weight.shape == (2, 512)


@pytest.mark.parametrize("layers,trained", [("all", None), ("layer4", ("layer4.", "fc.")), ("fc", ("fc.",))])
def test_trained_layers_with_set_trainable_freeze_the_rest(layers, trained):
    # what notebook 04's train_only does: everything frozen, then the named layers unfrozen
    model = training.set_trainable(resnet18_classifier(2), False)
    for name in TRAINED_LAYERS[layers]:
        training.set_trainable(getattr(model, name))
    for name, p in model.named_parameters():
        assert p.requires_grad == (trained is None or name.startswith(trained)), name
    assert set(TRAINED_LAYERS) == set(cam.TRAIN_LAYERS)


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


def test_normalise_false_is_the_lectures_division_by_255():
    image = np.full((20, 20, 3), 51, dtype=np.uint8)
    X = cam.preprocess_crops([image], 8, normalise=False)
    assert torch.allclose(X, torch.full((1, 3, 8, 8), 0.2), atol=1e-6)
    assert torch.allclose(cam.preprocess_smear(image, 0.5, normalise=False), torch.full((1, 3, 10, 10), 0.2), atol=1e-6)
    assert torch.allclose(cam.displayable(cam.preprocess_crops([image], 8)[0]), X[0], atol=1e-6)


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


def test_augmented_loader_with_cam_augment_keeps_labels_and_dihedral_views():
    from course_utils.training import TensorLoader
    X = torch.randn(10, 3, 6, 6)
    y = torch.arange(10)
    loader = training.AugmentedLoader(TensorLoader(X, y, batch_size=4, shuffle=False),
                                      lambda X, y, g: (cam.augment(X, 0, g), y), seed=1)  # as notebook 04 builds it
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
    assert torch.allclose(class_activation_map(A, W, 1), explicit, atol=1e-4)
    assert torch.allclose(class_activation_map(A[None], W, 1)[0], explicit, atol=1e-4)
    assert torch.equal(class_activation_map(maps=A, fc_weight=W, class_idx=1), class_activation_map(A, W, 1))


def test_fc_on_averaged_features_equals_network_output(net):
    x = torch.randn(2, 3, 32, 64)
    with torch.no_grad():
        assert torch.allclose(net.fc(features(net, x).mean(dim=(-2, -1))), net(x), atol=1e-5)


def test_mean_of_cam_plus_bias_is_the_logit(net):
    x = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        A = features(net, x)[0]
        logits = net(x)[0]
        local = local_logits(maps=A, fc=net.fc)
    for c in range(2):
        c_map = class_activation_map(A, net.fc.weight, c)
        assert torch.allclose(c_map.mean() + net.fc.bias[c], logits[c], atol=1e-5)
    assert torch.allclose(local.mean(dim=(1, 2)), logits, atol=1e-5)


def test_cam_on_rectangular_300x500_input(net):
    result = image_cam(net, torch.randn(1, 3, 300, 500))
    assert result.maps.shape == (512, 10, 16)
    assert result.cam.shape == (10, 16)
    assert upsample(result.cam, (300, 500)).shape == (300, 500)
    assert not result.cam.requires_grad


def test_image_cam_uses_predicted_class():
    torch.manual_seed(3)
    model = resnet18_classifier(2).eval()
    x = torch.randn(1, 3, 32, 32)
    for favoured in (0, 1):
        with torch.no_grad():
            model.fc.bias.copy_(torch.tensor([50.0, -50.0]) * (1 if favoured == 0 else -1))
        result = image_cam(model, x)
        assert result.class_idx == favoured
        assert torch.allclose(result.cam, class_activation_map(result.maps, model.fc.weight, favoured))
    forced = image_cam(model, x, class_idx=0)
    assert forced.class_idx == 0 and abs(float(forced.probs.sum()) - 1) < 1e-6


def test_grad_cam_at_layer4_is_relu_cam_over_area(net):
    x = torch.randn(1, 3, 64, 96)
    gmap, c = grad_cam(net, x, class_idx=1)
    A = features(net, x)[0].detach()
    expected = torch.relu(class_activation_map(A, net.fc.weight, 1)) / (A.shape[1] * A.shape[2])
    assert c == 1 and torch.allclose(gmap, expected, atol=1e-6)


def test_grad_cam_at_layer3_matches_a_hooked_backward_pass(net):
    # independent computation: the layer3 output caught by a forward hook, the gradient of the whole network's
    # class score with respect to it, alpha = mean gradient per map, ReLU of the weighted sum
    torch.manual_seed(5)
    x = torch.randn(1, 3, 64, 96)
    caught = {}
    handle = net.layer3.register_forward_hook(lambda module, inputs, output: caught.setdefault("A", output))
    try:
        logits = net(x)[0]
    finally:
        handle.remove()
    c = int(logits.argmax())
    (grad,) = torch.autograd.grad(logits[c], caught["A"])
    expected = torch.relu((grad[0].mean(dim=(1, 2))[:, None, None] * caught["A"][0]).sum(dim=0)).detach()
    gmap, chosen = grad_cam(net, x, layer="layer3")
    assert chosen == c and gmap.shape == (4, 6) == expected.shape
    assert float(expected.max()) > 0  # a map with something in it, not an all-zero pass
    assert torch.allclose(gmap, expected, rtol=1e-4, atol=1e-7)
    other, _ = grad_cam(net, x, class_idx=1 - c, layer="layer3")
    assert not torch.allclose(other, gmap)  # the class matters


# ---------------------------------------------------------------- peaks and pointing

def test_peak_xy_and_grid_to_image():
    m = torch.zeros(4, 6)
    m[1, 4] = 3.0
    assert cam.peak_xy(m) == (4.0, 1.0)
    xy = cam.grid_to_image([(4, 1)], (4, 6), (40, 60))
    assert np.allclose(xy, [[44.5, 14.5]])
    assert cam.peak_in_image(m, (40, 60)) == (44.5, 14.5)
    upsampled = upsample(m, (40, 60))
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
    with pytest.raises(cam.settings.ParameterError) as error:
        cam.load_imagenet_state("imagenet", allow_download=False)
    message = str(error.value)
    assert str(cam.cached_weights_path()) in message and "resnet18-f37072fd.pth" in message
    assert "Parameters cell" in message and 'weights = "auto"' in message


def test_choose_recipe_follows_the_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert cam.choose_recipe("auto", allow_download=False) == (None, "from scratch")
    assert cam.choose_recipe(None) == (None, "from scratch")
    with pytest.raises(cam.settings.ParameterError):
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


def test_map_peaks_feeds_the_scaled_image_and_maps_the_peak_back():
    image = np.zeros((96, 128, 3), dtype=np.uint8)  # a black image
    seen = []

    def cam_of(x):  # a known map: 4×6 cells, maximum at column 4, row 1
        seen.append(x)
        m = torch.zeros(4, 6)
        m[1, 4] = 1.0
        return m

    (px, py), = cam.map_peaks(cam_of, [image], 0.5)
    assert seen[0].shape == (1, 3, 48, 64)
    black = -torch.tensor(cam.IMAGENET_MEAN) / torch.tensor(cam.IMAGENET_STD)  # black, ImageNet-normalised
    assert torch.allclose(seen[0][0, :, 0, 0], black, atol=1e-6)
    assert (px, py) == (pytest.approx((4 + 0.5) * 128 / 6 - 0.5), pytest.approx((1 + 0.5) * 96 / 4 - 0.5))
    cam.map_peaks(cam_of, [image], 0.5, normalise=False)
    assert float(seen[1].abs().max()) == 0.0
