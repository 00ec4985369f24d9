"""Tests for course_utils.segmentation (labels, crops, padded inference) and for the SegNet and U-Net that
notebook 03's cells define (imported from course_utils.lessons)."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_utils import lessons as L
from course_utils import segmentation as S
from course_utils.losses import LogSoftmaxNLLLoss
from course_utils.training import count_parameters

pytestmark = pytest.mark.usefixtures("one_thread")


def small_masks():
    fov = np.zeros((6, 7), bool)
    fov[1:5, 1:6] = True
    vessels = np.zeros((6, 7), bool)
    vessels[2, :] = True  # crosses the FOV border on purpose
    return vessels, fov


def test_make_labels_three_fov_aware_classes():
    vessels, fov = small_masks()
    labels = S.make_labels(vessels, fov)
    assert labels.dtype == np.int64 and labels.shape == fov.shape
    assert (labels[~fov] == S.OUTSIDE).all()
    assert (labels[fov & vessels] == S.VESSEL).all()
    assert (labels[fov & ~vessels] == S.TISSUE).all()
    assert labels[2, 0] == S.OUTSIDE  # vessel pixel outside the FOV stays class 0
    assert np.bincount(labels.ravel()).tolist() == [42 - 20, 5, 15]


def test_make_labels_rejects_non_boolean_masks():
    vessels, fov = small_masks()
    with pytest.raises(TypeError):
        S.make_labels(vessels.astype(np.float32) * 0.7, fov)


def test_standardise_in_fov_standardises_inside_fov():
    rng = np.random.default_rng(0)
    image = rng.uniform(0.2, 0.9, (20, 30, 3)).astype(np.float32)
    fov = np.zeros((20, 30), bool)
    fov[3:17, 4:25] = True
    x = S.standardise_in_fov(image, fov)
    assert x.shape == (3, 20, 30) and x.dtype == np.float32
    assert (x[:, ~fov] == 0).all()
    np.testing.assert_allclose(x[:, fov].mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(x[:, fov].std(axis=1), 1, atol=1e-3)


def coded_pair(h=40, w=50):
    """Image whose channels encode the row and column, labels encoding the class pattern."""
    rows, cols = np.mgrid[0:h, 0:w]
    x = np.stack([rows, cols, rows * w + cols]).astype(np.float32)
    y = ((rows + cols) % 3).astype(np.int64)
    return x, y


def test_random_crops_are_plain_windows_of_the_source():
    x, y = coded_pair()
    X, Y = S.random_crops(x, y, num_crops=5, size=16, rng=np.random.default_rng(3))
    assert X.shape == (5, 3, 16, 16) and Y.shape == (5, 16, 16)
    for crop, labels in zip(X, Y, strict=True):
        top, left = int(crop[0, 0, 0]), int(crop[1, 0, 0])
        np.testing.assert_array_equal(crop, x[:, top:top + 16, left:left + 16])
        np.testing.assert_array_equal(labels, y[top:top + 16, left:left + 16])
    assert Y.dtype == np.int64 and set(np.unique(Y)) <= {0, 1, 2}


def test_random_crops_pad_images_smaller_than_the_crop():
    x, y = coded_pair(10, 12)
    X, Y = S.random_crops(x + 1, y + 1, num_crops=2, size=16, rng=np.random.default_rng(0))
    assert X.shape == (2, 3, 16, 16)
    assert (Y[:, 10:, :] == S.OUTSIDE).all() and (Y[:, :, 12:] == S.OUTSIDE).all()
    assert (X[:, :, 10:, :] == 0).all() and (Y[:, :10, :12] > 0).all()


def test_make_crop_set_is_deterministic_for_a_seed():
    pairs = [coded_pair(), coded_pair(45, 41)]
    inputs, labels = [p[0] for p in pairs], [p[1] for p in pairs]
    X1, y1 = S.make_crop_set(inputs, labels, num_crops=4, size=8, seed=7)
    X2, y2 = S.make_crop_set(inputs, labels, num_crops=4, size=8, seed=7)
    X3, _ = S.make_crop_set(inputs, labels, num_crops=4, size=8, seed=8)
    assert X1.shape == (8, 3, 8, 8) and y1.shape == (8, 8, 8) and y1.dtype == torch.int64
    assert torch.equal(X1, X2) and torch.equal(y1, y2)
    assert not torch.equal(X1, X3)


def test_gaussian_blur_keeps_constants_and_mass():
    x = torch.full((2, 30, 40), 3.0)
    assert torch.allclose(S.gaussian_blur(x, 2.0), x)
    spike = torch.zeros(1, 41, 41)
    spike[0, 20, 20] = 1.0
    blurred = S.gaussian_blur(spike, 2.0)
    assert blurred.shape == spike.shape and abs(blurred.sum().item() - 1.0) < 1e-4
    assert blurred[0, 20, 20] == blurred.max() and torch.allclose(blurred, blurred.flip(-1))


def test_local_contrast_removes_illumination_and_zeroes_outside():
    rng = np.random.default_rng(0)
    fov = np.zeros((60, 80), bool)
    fov[5:55, 5:75] = True
    texture = rng.random((60, 80, 1)) * 0.1
    ramp = np.linspace(0.1, 0.8, 80)[None, :, None]  # a slow illumination gradient
    image = np.concatenate([texture + ramp, texture * 2 + 0.2, texture + 0.5], axis=2)
    out = S.local_contrast(image, fov, sigma=4.0)
    assert out.shape == (3, 60, 80) and out.dtype == np.float32
    assert np.all(out[:, ~fov] == 0)
    left, right = out[:, 10:50, 10:30], out[:, 10:50, 50:70]
    assert abs(left.mean() - right.mean()) < 0.1  # the ramp is gone
    assert 0.7 < out[:, fov].std() < 1.3  # unit local spread
    assert np.allclose(out[1, fov], out[2, fov], rtol=0.05, atol=0.01)  # same texture, other brightness and gain


def test_random_flips_move_images_and_labels_together():
    y = torch.randint(0, 3, (16, 9, 11))
    X = torch.stack([y.float(), -y.float(), 2 * y.float()], dim=1)
    Xf, yf = S.random_flips(X, y, torch.Generator().manual_seed(0))
    assert torch.equal(Xf[:, 0], yf.float()) and torch.equal(Xf[:, 2], 2 * yf.float())
    assert not torch.equal(yf, y)  # 16 crops: some were flipped
    assert torch.equal(X[:, 0], y.float())  # inputs untouched


def test_flip_loader_changes_batches_each_epoch_but_keeps_pairs():
    from course_utils import training
    y = torch.randint(0, 3, (8, 6, 6))
    X = y.float()[:, None]
    loader = S.FlipLoader(training.TensorLoader(X, y, batch_size=8, shuffle=False), seed=1)
    (X1, y1), (X2, y2) = next(iter(loader)), next(iter(loader))
    assert len(loader) == 1 and torch.equal(X1[:, 0], y1.float()) and torch.equal(X2[:, 0], y2.float())
    assert not torch.equal(y1, y2)


def test_segnet_layers_match_the_lecture():
    net = L.SegNet()
    assert (net.conv1.in_channels, net.conv1.out_channels, net.conv1.kernel_size) == (3, 64, (3, 3))
    assert (net.conv2.in_channels, net.conv2.out_channels, net.conv2.padding) == (64, 3, (1, 1))
    assert net.pool.return_indices and net.pool.kernel_size == 2 and net.pool.stride == 2
    assert count_parameters(net) == 3 * 64 * 9 + 64 + 64 * 3 * 9 + 3


@pytest.mark.parametrize("h,w", [(565, 584), (37, 53)])
def test_segnet_keeps_odd_sizes(h, w):
    net = L.SegNet()
    assert net(torch.randn(1, 3, h, w)).shape == (1, 3, h, w)
    probs = S.predict_probs(net, torch.randn(3, h, w))
    assert probs.shape == (3, h, w)
    torch.testing.assert_close(probs.sum(0), torch.ones(h, w))


def test_unpooling_puts_values_back_at_the_argmax_positions():
    net = L.SegNet()
    x = torch.tensor([[[[1., 5., 0., 2.],
                        [3., 4., 7., 1.],
                        [9., 0., 1., 1.],
                        [2., 8., 6., 3.]]]])
    pooled, indices = net.pool(x)
    restored = net.unpool(pooled, indices, output_size=x.shape)
    expected = torch.tensor([[[[0., 5., 0., 0.],
                               [0., 0., 7., 0.],
                               [9., 0., 0., 0.],
                               [0., 0., 6., 0.]]]])
    assert torch.equal(restored, expected)
    upsampled = F.interpolate(pooled, scale_factor=2, mode="nearest")
    assert (upsampled != 0).all()  # interpolation spreads the maximum over the whole window


def test_unpooling_on_random_maps_restores_window_maxima():
    x = torch.rand(2, 4, 10, 12) + 0.1  # positive, so the zeros left by unpooling never win
    pooled, indices = L.SegNet().pool(x)
    restored = L.SegNet().unpool(pooled, indices, output_size=x.shape)
    windows = x.unfold(2, 2, 2).unfold(3, 2, 2).reshape(2, 4, 5, 6, 4)
    kept = restored.unfold(2, 2, 2).unfold(3, 2, 2).reshape(2, 4, 5, 6, 4)
    assert torch.equal(kept.argmax(-1), windows.argmax(-1))
    assert torch.equal(kept.max(-1).values, windows.max(-1).values)
    assert ((kept != 0).sum(-1) == 1).all()


def test_unet_default_signature_and_shapes():
    net = L.UNet()
    assert net.stride == 8
    assert net(torch.randn(2, 3, 32, 48)).shape == (2, 3, 32, 48)
    assert any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert not any(isinstance(m, nn.Dropout2d) for m in net.modules())
    with pytest.raises(ValueError, match="multiple of 8"):
        net(torch.randn(1, 3, 37, 53))


def test_unet_switches_batch_norm_dropout_width_and_depth():
    net = L.UNet(in_channels=1, num_classes=2, base=4, depth=2, batch_norm=False, dropout=0.3)
    assert net.stride == 4
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert any(isinstance(m, nn.Dropout2d) and m.p == 0.3 for m in net.modules())
    assert net.head.in_channels == 4 and net.down[-1][0].out_channels == 16
    assert net(torch.randn(1, 1, 12, 20)).shape == (1, 2, 12, 20)
    assert count_parameters(L.UNet(base=8)) < count_parameters(L.UNet(base=16))


@pytest.mark.parametrize("h,w,base", [(565, 584, 4), (37, 53, 16)])
def test_unet_whole_image_inference_at_native_size(h, w, base):
    probs = S.predict_probs(L.UNet(base=base), torch.randn(3, h, w))
    assert probs.shape == (3, h, w)
    torch.testing.assert_close(probs.sum(0), torch.ones(h, w))


def test_pad_to_multiple_pads_bottom_right_with_zeros():
    x = torch.ones(1, 3, 37, 53)
    padded = S.pad_to_multiple(x, 8)
    assert padded.shape == (1, 3, 40, 56)
    assert torch.equal(padded[..., :37, :53], x) and padded[..., 37:, :].abs().sum() == 0
    assert S.pad_to_multiple(torch.ones(1, 1, 16, 8), 8).shape == (1, 1, 16, 8)


def test_predict_probs_equals_softmax_when_no_padding_is_needed():
    torch.manual_seed(0)
    net = L.UNet(base=4, depth=2)
    x = torch.randn(3, 16, 24)
    net.eval()
    expected = torch.softmax(net(x[None]), dim=1)[0]
    torch.testing.assert_close(S.predict_probs(net, x), expected)
    assert not net.training


def test_predict_probs_with_flips_is_flip_invariant_and_exact_for_symmetric_nets():
    torch.manual_seed(0)
    x = torch.randn(3, 13, 22)  # odd sizes: padding happens before each flip is undone
    net = L.UNet(base=4, depth=2).eval()
    probs = S.predict_probs(net, x, flips=True)
    for dims in [(-1,), (-2,)]:  # a mirrored input gives the mirrored map
        torch.testing.assert_close(S.predict_probs(net, x.flip(dims), flips=True).flip(dims), probs)
    assert not torch.allclose(probs, S.predict_probs(net, x))  # the four views really differ for a U-Net
    pointwise = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1)).eval()  # commutes with flips: nothing changes
    torch.testing.assert_close(S.predict_probs(pointwise, x, flips=True), S.predict_probs(pointwise, x))


@pytest.mark.parametrize("flips", [False, True])
def test_predict_probs_of_a_one_channel_net_is_the_sigmoid_of_the_padded_and_cropped_logits(flips):
    torch.manual_seed(0)
    net = L.UNet(3, num_classes=1, base=4, depth=3).eval()  # notebook 05's vessel U-Net, stride 8
    x = torch.randn(3, 37, 53)
    padded = torch.zeros(1, 3, 40, 56)
    padded[0, :, :37, :53] = x
    views = [(), (-1,), (-2,), (-2, -1)] if flips else [()]
    with torch.no_grad():  # each mirror image is padded at its own bottom/right, then mirrored back
        maps = [torch.sigmoid(net(S.pad_to_multiple(x.flip(d)[None], 8))[0, :, :37, :53]).flip(d) for d in views]
        plain = torch.sigmoid(net(padded)[0, :, :37, :53])
    probs = S.predict_probs(net, x, flips=flips)
    assert probs.shape == (1, 37, 53) and not net.training
    torch.testing.assert_close(probs, sum(maps) / len(maps))
    if not flips:  # what notebook 05 scores: the plain padded forward (channels_last inside: float rounding only)
        torch.testing.assert_close(probs, plain, rtol=0, atol=1e-6)
    assert not torch.allclose(probs.sum(0), torch.ones(37, 53))  # a sigmoid, not a softmax over one channel


def test_vessel_probability_renormalises_inside_fov():
    probs = torch.tensor([[[0.5, 0.1]], [[0.25, 0.6]], [[0.25, 0.3]]])
    fov = np.array([[True, False]])
    score = S.vessel_probability(probs, fov)
    np.testing.assert_allclose(score, [[0.5, 0.0]])


def test_predicted_labels_is_the_argmax():
    probs = torch.tensor([[[0.7, 0.1]], [[0.2, 0.3]], [[0.1, 0.6]]])
    assert S.predicted_labels(probs).tolist() == [[0, 2]]


def test_class_weights_favour_rare_classes():
    y = torch.tensor([0] * 60 + [1] * 10 + [2] * 30)
    w = S.class_weights(y, power=1.0)
    assert w[1] > w[2] > w[0]
    torch.testing.assert_close(w.mean(), torch.tensor(1.0))
    torch.testing.assert_close(w[1] / w[0], torch.tensor(6.0))
    assert S.class_weights(torch.tensor([0, 0, 2]), power=0.5)[1] == 0


def test_small_unet_learns_a_toy_segmentation():
    torch.manual_seed(0)
    X = torch.randn(4, 3, 16, 16)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 1).long()
    net, loss_fn = L.UNet(base=4, depth=2), LogSoftmaxNLLLoss()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    first = loss_fn(net(X), y).item()
    for _ in range(30):
        opt.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first


def test_unet_transposed_convolution_decoder_learns_its_upsampling():
    net = L.UNet(base=4, depth=2, upsampling="transpose")
    ups = [m for m in net.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(ups) == 2 and all(m.kernel_size == (2, 2) and m.stride == (2, 2) for m in ups)
    assert net(torch.randn(1, 3, 16, 24)).shape == (1, 3, 16, 24)
    bilinear = L.UNet(base=4, depth=2)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in bilinear.modules())
    with pytest.raises(ValueError, match="upsampling must be one of"):
        L.UNet(upsampling="nearest")


def test_transposed_step_spreads_each_input_value_over_a_2x2_block():
    step = L.UpStep(1, 1, batch_norm=False, upsampling="transpose")
    with torch.no_grad():
        step.reduce.weight.copy_(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
        step.reduce.bias.zero_()
    up = step.reduce(torch.tensor([[[[1.0, 10.0]]]]))
    assert torch.equal(up[0, 0], torch.tensor([[1.0, 2.0, 10.0, 20.0], [3.0, 4.0, 30.0, 40.0]]))
