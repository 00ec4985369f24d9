import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from course_utils import metrics, patches, widgets  # noqa: E402

FRONTEND_VARIABLES = ("JPY_SESSION_NAME", "VSCODE_PID", "COURSE_WIDGETS")


@pytest.fixture
def maps():
    rng = np.random.default_rng(0)
    truth = rng.random((20, 30)) > 0.8
    prob = np.clip(truth * 0.6 + rng.random((20, 30)) * 0.5, 0, 1)
    return [prob], [truth], [np.ones_like(truth)]


@pytest.fixture
def headless(monkeypatch):
    """A kernel as nbclient, nbconvert or papermill start it: no frontend variable, no COURSE_WIDGETS."""
    for name in FRONTEND_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    plt.close("all")
    yield
    plt.close("all")


def shown_arrays(fig):
    """The arrays drawn by imshow on each axes of a figure (first image of each axes)."""
    return [ax.get_images()[0].get_array().data for ax in fig.axes if ax.get_images()]


@pytest.mark.parametrize("env,expected", [({}, False), ({"JPY_SESSION_NAME": "/lab/02.ipynb"}, True),
                                          ({"VSCODE_PID": "123"}, True), ({"COURSE_WIDGETS": "1"}, True),
                                          ({"JPY_SESSION_NAME": "x", "COURSE_WIDGETS": "0"}, False)])
def test_live_widgets_only_with_a_frontend_or_when_asked(monkeypatch, headless, env, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert widgets.widgets_enabled() is expected


def test_headless_threshold_explorer_draws_the_static_figure(headless, maps):
    assert widgets.threshold_explorer(*maps, names=["img"], threshold=0.4) is None
    fig = plt.gcf()
    prob, truth, fov = maps[0][0], maps[1][0], maps[2][0]
    drawn = shown_arrays(fig)
    np.testing.assert_array_equal(drawn[0], prob)
    np.testing.assert_array_equal(drawn[1], (prob >= 0.4) & fov)
    np.testing.assert_array_equal(drawn[2], truth)
    scores = metrics.binary_metrics(prob, truth, fov, 0.4)
    assert f"F1 {scores['f1']:.3f}" in fig._suptitle.get_text() and "img" in fig._suptitle.get_text()


def test_live_widget_when_enabled(monkeypatch, headless, maps):
    monkeypatch.setenv("COURSE_WIDGETS", "1")
    drawn = []
    monkeypatch.setattr(widgets, "threshold_figure", lambda prob, truth, fov, threshold, title: drawn.append(threshold))
    control = widgets.threshold_explorer(*maps)
    slider = control.widget.children[1]
    assert slider.description == "threshold" and slider.value == 0.5 and drawn == [0.5]
    slider.value = 0.3  # moving the slider re-draws the figure at the new threshold
    assert drawn == [0.5, 0.3]


def test_threshold_figure_metrics_follow_threshold(maps):
    prob, truth, fov = maps[0][0], maps[1][0], maps[2][0]
    for threshold in (0.1, 0.5, 0.9):
        scores = widgets.threshold_figure(prob, truth, fov, threshold)
        assert scores == metrics.binary_metrics(prob, truth, fov, threshold)
    low, high = (widgets.threshold_figure(prob, truth, fov, t) for t in (0.1, 0.9))
    assert low["sensitivity"] > high["sensitivity"] and low["specificity"] < high["specificity"]
    plt.close("all")


def brute_coverage(shape, patch, stride):
    """Tiles per pixel counted one tile at a time (independent of tiling_figure's loop)."""
    coverage = np.zeros(shape, int)
    tops, lefts = patches.tile_corners(shape, (patch, patch), stride)
    for top, left in zip(tops, lefts, strict=True):
        coverage[top:top + patch, left:left + patch] += 1
    return coverage, len(tops)


@pytest.mark.parametrize("shape,patch,overlap", [((584, 565), 10, 0), ((37, 53), 31, 5), ((20, 20), 7, 6)])
def test_tiling_covers_every_pixel(shape, patch, overlap):
    coverage = widgets.tiling_figure(shape, patch, overlap)
    expected, count = brute_coverage(shape, patch, patch - overlap)
    np.testing.assert_array_equal(coverage, expected)
    assert coverage.min() >= 1 and coverage.sum() == count * patch * patch
    if overlap == 0 and shape == (584, 565):  # no overlap: once, except under the last (flush) row and column of tiles
        assert coverage[:574, :555].max() == 1 and (coverage[574:580, 555:560] == 4).all()
    plt.close("all")


def test_headless_explorers_draw_their_default_state(headless):
    rng = np.random.default_rng(1)
    X = rng.random((10, 28, 28))
    recon = X * 1.5 - 0.2  # out of [0, 1]: the browser shows it clamped
    assert widgets.reconstruction_browser(X, recon, per_page=4) is None
    drawn = shown_arrays(plt.gcf())
    assert len(drawn) == 8
    for i in range(4):
        np.testing.assert_allclose(drawn[i], X[i])
        np.testing.assert_allclose(drawn[4 + i], np.clip(recon[i], 0, 1))
    plt.close("all")

    cam = rng.random((40, 60))
    assert widgets.cam_explorer([np.zeros((40, 60, 3), np.uint8)], [cam], names=["smear"], alpha=0.3) is None
    ax = plt.gcf().axes[0]
    heat = ax.get_images()[1]
    np.testing.assert_allclose(heat.get_array().data, (cam - cam.min()) / (cam.max() - cam.min() + 1e-12), atol=1e-6)
    assert heat.get_alpha() == 0.3 and ax.get_title() == "smear"
    plt.close("all")

    assert widgets.tiling_explorer((50, 50), patch=10, overlap=3) is None
    fig = plt.gcf()
    expected, count = brute_coverage((50, 50), 10, 7)
    np.testing.assert_array_equal(shown_arrays(fig)[0], expected)
    assert fig.axes[0].get_title().startswith(f"{count} tiles of 10×10, stride 7")
