"""Tests of course_utils.patches (notebook 02): sampling, reshapes, model shapes, tiling round trips."""
import numpy as np
import pytest
import torch

from course_utils import lessons, patches


def random_image(H, W, C=3, seed=0):
    return np.random.default_rng(seed).random((H, W, C), dtype=np.float32)


def test_check_patch_size_accepts_and_rejects():
    patches.check_patch_size((584, 565, 3), (31, 31))
    patches.check_patch_size((5, 7), (5, 7))
    for bad in [(0, 10), (10, 0), (585, 10), (10, 566), (10.0, 10), (True, 10)]:
        with pytest.raises(ValueError, match="patch_"):
            patches.check_patch_size((584, 565), bad)


def test_patch_offsets_shapes():
    dr, dc = patches.patch_offsets((3, 4))
    assert dr.shape == (3, 1) and dc.shape == (1, 4)
    assert (dr + 0 * dc)[2, 3] == 2 and (dc + 0 * dr)[2, 3] == 3


def test_extract_patches_matches_slicing():
    image = random_image(20, 17)
    tops, lefts = np.array([0, 5, 10]), np.array([6, 0, 3])
    out = patches.extract_patches(image, tops, lefts, (10, 11))
    assert out.shape == (3, 10, 11, 3)
    for k, (top, left) in enumerate(zip(tops, lefts, strict=True)):
        np.testing.assert_array_equal(out[k], image[top:top + 10, left:left + 11])
    grey = patches.extract_patches(image[..., 0], tops, lefts, (10, 11))
    np.testing.assert_array_equal(grey, out[..., 0])


def test_to_vectors_is_channel_major_and_inverted_by_from_vectors():
    P = random_image(4, 5, 3)[None].repeat(2, axis=0)
    X = patches.to_vectors(P)
    assert X.shape == (2, 60) and X.dtype == np.float32
    np.testing.assert_array_equal(X[0, :20], P[0, :, :, 0].ravel())
    np.testing.assert_array_equal(X[0, 20:40], P[0, :, :, 1].ravel())
    np.testing.assert_array_equal(patches.from_vectors(X, (4, 5), channels=3), P)
    grey = P[..., 0]
    np.testing.assert_array_equal(patches.from_vectors(patches.to_vectors(grey), (4, 5)), grey)


def test_sample_positions_deterministic_and_inside_image():
    a = patches.sample_positions((584, 565), (31, 31), 500, np.random.default_rng(3))
    b = patches.sample_positions((584, 565), (31, 31), 500, np.random.default_rng(3))
    c = patches.sample_positions((584, 565), (31, 31), 500, np.random.default_rng(4))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].min() >= 0 and a[0].max() <= 584 - 31
    assert a[1].min() >= 0 and a[1].max() <= 565 - 31


def test_sample_positions_centre_inside_fov():
    fov = np.zeros((60, 50), bool)
    fov[20:30, 30:35] = True
    tops, lefts = patches.sample_positions(fov.shape, (11, 10), 1000, np.random.default_rng(0), fov=fov)
    assert fov[tops + 5, lefts + 5].all()
    assert len(set(zip(tops, lefts, strict=True))) == 50  # all 10×5 allowed centres, drawn with replacement
    with pytest.raises(ValueError, match="FOV"):
        patches.sample_positions(fov.shape, (11, 10), 5, np.random.default_rng(0), fov=np.zeros_like(fov))


def test_sample_positions_without_replacement_when_enough():
    tops, lefts = patches.sample_positions((30, 30), (10, 10), 300, np.random.default_rng(0))
    assert len(set(zip(tops, lefts, strict=True))) == 300


def test_sample_patches_shapes_labels_and_seed():
    images = [random_image(40, 30, seed=s) for s in range(3)]
    labels = [(im[..., 1] > 0.5).astype(np.float32) for im in images]
    fovs = [np.pad(np.ones((20, 10), bool), ((10, 10), (10, 10))) for _ in images]
    X, y = patches.sample_patches(images, labels, (5, 6), 7, seed=1, fovs=fovs)
    assert X.shape == (21, 90) and y.shape == (21, 30)
    assert X.dtype == torch.float32 and y.dtype == torch.float32
    green = X.numpy()[:, 30:60]
    np.testing.assert_array_equal(y.numpy(), (green > 0.5).astype(np.float32))
    X2, _ = patches.sample_patches(images, labels, (5, 6), 7, seed=1, fovs=fovs)
    X3, _ = patches.sample_patches(images, labels, (5, 6), 7, seed=2, fovs=fovs)
    assert torch.equal(X, X2) and not torch.equal(X, X3)


@pytest.mark.parametrize("h,w", [(10, 10), (11, 11), (31, 31), (4, 7)])
def test_autoencoder_and_segmenter_shapes(h, w):
    torch.manual_seed(0)
    ae = lessons.PatchAutoencoder(h, w)
    x = torch.rand(5, 3 * h * w)
    assert ae.encoder(x).shape == (5, h * w)
    out = ae(x)
    assert out.shape == (5, 3 * h * w) and 0 <= out.min() and out.max() <= 1
    seg = lessons.PatchSegmenter(ae.encoder, h, w)
    assert seg.encoder is ae.encoder
    prob = seg(x)
    assert prob.shape == (5, h * w) and 0 <= prob.min() and prob.max() <= 1


def test_tile_starts_cover_border():
    np.testing.assert_array_equal(patches.tile_starts(584, 10, 10)[-2:], [570, 574])
    np.testing.assert_array_equal(patches.tile_starts(30, 10, 10), [0, 10, 20])
    np.testing.assert_array_equal(patches.tile_starts(12, 5, 3), [0, 3, 6, 7])
    with pytest.raises(ValueError):
        patches.tile_starts(12, 5, 6)


@pytest.mark.parametrize("H,W", [(584, 565), (37, 23), (10, 10)])
@pytest.mark.parametrize("patch", [1, 10, 11, 31])
@pytest.mark.parametrize("overlap", [False, True])
def test_tiling_round_trip_is_exact(H, W, patch, overlap):
    stride = max(1, patch // 2 - 1) if overlap else None
    if patch > min(H, W):
        with pytest.raises(ValueError, match="patch_"):
            patches.tile_corners((H, W), (patch, patch), stride)
        return
    image = random_image(H, W, seed=H + patch)
    tops, lefts = patches.tile_corners(image.shape, (patch, patch), stride)
    tiles = patches.extract_patches(image, tops, lefts, (patch, patch))
    np.testing.assert_array_equal(patches.tiles_to_image(tiles, tops, lefts, image.shape), image)
    grey = patches.tiles_to_image(tiles[..., 0], tops, lefts, image.shape)
    np.testing.assert_array_equal(grey, image[..., 0])


def test_tile_corners_non_overlapping_count_and_overlap_mean():
    tops, lefts = patches.tile_corners((584, 565), (10, 10))
    assert len(tops) == 59 * 57
    tops, lefts = patches.tile_corners((4, 3), (2, 2), stride=1)
    tiles = np.stack([np.full((2, 2), float(k)) for k in range(len(tops))])
    out = patches.tiles_to_image(tiles, tops, lefts, (4, 3))
    assert out[0, 0] == 0 and out[3, 2] == len(tops) - 1
    assert out[1, 1] == pytest.approx(np.mean([0, 1, 2, 3]))


def test_tile_corners_stride_above_patch_is_reduced_to_patch():
    wide = patches.tile_corners((37, 23), (5, 4), stride=50)
    plain = patches.tile_corners((37, 23), (5, 4))
    np.testing.assert_array_equal(wide[0], plain[0])
    np.testing.assert_array_equal(wide[1], plain[1])


class CentrePixelNet(torch.nn.Module):
    """Maps a 3·h·w patch vector to its green channel: lets predict_image be checked exactly."""

    def __init__(self, h, w):
        super().__init__()
        self.h, self.w = h, w

    def forward(self, x):
        return x[:, self.h * self.w:2 * self.h * self.w]


@pytest.mark.parametrize("patch,stride", [((10, 10), None), ((11, 11), 4), ((31, 31), None)])
def test_predict_image_reassembles_every_pixel(patch, stride):
    image = random_image(584, 565, seed=7)
    out = patches.predict_image(CentrePixelNet(*patch), image, patch, stride=stride, batch_size=500)
    assert out.shape == (584, 565) and out.dtype == np.float32
    np.testing.assert_array_equal(out, image[..., 1])
