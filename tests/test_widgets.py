import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
from course_utils import widgets  # noqa: E402


@pytest.fixture
def maps():
    rng = np.random.default_rng(0)
    truth = rng.random((20, 30)) > 0.8
    prob = np.clip(truth * 0.6 + rng.random((20, 30)) * 0.5, 0, 1)
    return [prob], [truth], [np.ones_like(truth)]


def test_static_fallback_in_smoke_mode(monkeypatch, maps):
    monkeypatch.setenv("COURSE_SMOKE", "1")
    assert not widgets.widgets_enabled()
    assert widgets.threshold_explorer(*maps) is None
    assert len(matplotlib.pyplot.gcf().axes) == 3


def test_live_widget_when_enabled(monkeypatch, maps):
    monkeypatch.setenv("COURSE_SMOKE", "0")
    monkeypatch.setenv("COURSE_WIDGETS", "1")
    assert widgets.widgets_enabled()
    drawn = []
    monkeypatch.setattr(widgets, "threshold_figure", lambda prob, truth, fov, threshold, title: drawn.append(threshold))
    control = widgets.threshold_explorer(*maps)
    slider = control.widget.children[1]
    assert slider.description == "threshold" and slider.value == 0.5 and drawn == [0.5]
    slider.value = 0.3  # moving the slider re-draws the figure at the new threshold
    assert drawn == [0.5, 0.3]


def test_threshold_figure_metrics_follow_threshold(maps):
    low = widgets.threshold_figure(maps[0][0], maps[1][0], maps[2][0], 0.1)
    high = widgets.threshold_figure(maps[0][0], maps[1][0], maps[2][0], 0.9)
    assert low["sensitivity"] >= high["sensitivity"] and low["specificity"] <= high["specificity"]


@pytest.mark.parametrize("shape,patch,overlap", [((584, 565), 10, 0), ((37, 53), 31, 5), ((20, 20), 7, 6)])
def test_tiling_covers_every_pixel(shape, patch, overlap):
    coverage = widgets.tiling_figure(shape, patch, overlap)
    assert coverage.min() >= 1


def test_reconstruction_and_cam_static(monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "0")
    X = np.random.rand(10, 28, 28)
    widgets.reconstruction_browser(X, X * 1.5, per_page=4)
    widgets.cam_explorer([np.zeros((40, 60, 3), np.uint8)], [np.random.rand(40, 60)], names=["smear"])
    tiling = widgets.tiling_explorer((50, 50), patch=10, overlap=3)
    assert tiling is None
    matplotlib.pyplot.close("all")
