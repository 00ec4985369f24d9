import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
from course_utils import plotting  # noqa: E402


def test_weight_mosaic_places_each_unit():
    W = np.arange(2 * 6, dtype=np.float32).reshape(2, 6)  # two 2x3 grey tiles
    grid = plotting.weight_mosaic(W, (2, 3), ncols=2)
    assert grid.shape == (2, 7)
    assert np.array_equal(grid[:, :3], W[0].reshape(2, 3)) and np.isnan(grid[0, 3])
    assert np.array_equal(grid[:, 4:], W[1].reshape(2, 3))


def test_colour_tiles_use_channel_major_rows():
    patch = torch.rand(3, 4, 5)  # C x H x W, flattened as torch does
    grid = plotting.weight_mosaic(patch.flatten().unsqueeze(0), (4, 5, 3))
    assert np.allclose(grid, patch.permute(1, 2, 0).numpy())


def test_to_display_clamps_and_moves_channels():
    image = torch.tensor([[[-0.5, 1.5]]]).repeat(3, 1, 1)
    shown = plotting.to_display(image)
    assert shown.shape == (1, 2, 3) and shown.min() == 0.0 and shown.max() == 1.0


def test_figures_build_without_error():
    history = {"train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "epoch_time": [1, 1]}
    ax = plotting.plot_history(history)
    assert [line.get_label() for line in ax.get_lines()] == ["train_loss", "val_loss"]
    plotting.show_images([np.zeros((4, 4)), np.ones((4, 4, 3))], titles=["a", "b"], ncols=1)
    fig = plotting.show_weight_change(np.random.randn(4, 12), np.random.randn(4, 12), (2, 2, 3))
    assert len(fig.axes) == 3
    plotting.plot_confusion(np.array([[3, 1], [0, 2]]), ["a", "b"])
    plotting.overlay(np.zeros((8, 8, 3), np.uint8), np.random.rand(8, 8), title="cam")
    matplotlib.pyplot.close("all")


def test_near_square_factorises():
    assert plotting.near_square(100) == (10, 10)
    assert plotting.near_square(50) == (5, 10)
    assert plotting.near_square(97) == (1, 97)


def test_plot_f1_by_threshold_draws_each_curve_and_its_chosen_threshold_dashed():
    curves = {"training": ([0.1, 0.2, 0.3], [0.5, 0.7, 0.6]), "validation": ([0.1, 0.2, 0.3], [0.4, 0.5, 0.65])}
    chosen = {"training": 0.2, "validation": 0.3}
    ax = plotting.plot_f1_by_threshold(curves, chosen, xlabel="threshold on the vessel score")
    lines = ax.get_lines()  # curve, its dashed threshold, next curve, its threshold
    assert [line.get_label() for line in lines[::2]] == ["training images", "validation images"]
    assert [list(line.get_ydata()) for line in lines[::2]] == [[0.5, 0.7, 0.6], [0.4, 0.5, 0.65]]
    for curve, mark, name in zip(lines[::2], lines[1::2], chosen, strict=True):
        assert list(mark.get_xdata()) == [chosen[name]] * 2 and mark.get_linestyle() == "--"
        assert mark.get_color() == curve.get_color()
    assert lines[0].get_color() != lines[2].get_color()
    assert ax.get_xlabel() == "threshold on the vessel score" and ax.get_ylabel() == "F1 inside the FOV"
    assert tuple(ax.figure.get_size_inches()) == (6.5, 3.5)
    assert plotting.plot_f1_by_threshold(curves, chosen).get_xlabel() == "threshold"
    matplotlib.pyplot.close("all")
