import numpy as np
import pytest

from course_utils import metrics


def test_binary_metrics_match_hand_counts():
    prob = np.array([[0.9, 0.2, 0.7], [0.1, 0.6, 0.3]])
    truth = np.array([[1, 0, 0], [1, 1, 0]], bool)
    m = metrics.binary_metrics(prob, truth)  # pred: 1 0 1 / 0 1 0 -> tp=2 fp=1 fn=1 tn=2
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["sensitivity"] == pytest.approx(2 / 3)
    assert m["specificity"] == pytest.approx(2 / 3)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert m["iou"] == pytest.approx(2 / 4)
    # AUC by pair counting: positives .9 .1 .6 vs negatives .2 .7 .3 -> 5 of 9 pairs ordered
    assert m["auc"] == pytest.approx(5 / 9)


def test_fov_mask_excludes_outside_pixels():
    prob = np.array([[1.0, 1.0], [0.0, 0.0]])
    truth = np.array([[1, 0], [0, 0]], bool)
    fov = np.array([[1, 0], [1, 1]], bool)  # the false positive lies outside the FOV
    m = metrics.binary_metrics(prob, truth, fov)
    assert m["accuracy"] == 1.0 and m["f1"] == 1.0


def test_lists_of_images_are_pooled():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    ta, tb = np.array([1, 0], bool), np.array([1, 1], bool)
    pooled = metrics.binary_metrics([a, b], [ta, tb])
    assert pooled == metrics.binary_metrics(np.r_[a, b], np.r_[ta, tb])


def test_fov_shape_mismatch_is_reported():
    with pytest.raises(ValueError, match="FOV mask shape"):
        metrics.binary_metrics(np.zeros((2, 2)), np.zeros((2, 2)), np.ones((3, 3), bool))


def test_f1_by_threshold_matches_binary_metrics_and_best_threshold_picks_the_peak():
    rng = np.random.default_rng(0)
    truth = rng.random((30, 40)) < 0.2
    prob = np.clip(truth * 0.3 + rng.random((30, 40)) * 0.7, 0, 1)
    fov = np.ones_like(truth)
    fov[:5] = False
    thresholds, f1s = metrics.f1_by_threshold(prob, truth, fov, [0.2, 0.5, 0.8])
    for th, f1 in zip(thresholds, f1s, strict=True):
        assert f1 == pytest.approx(metrics.binary_metrics(prob, truth, fov, th)["f1"])
    best, best_f1 = metrics.best_threshold(prob, truth, fov)
    grid, all_f1 = metrics.f1_by_threshold(prob, truth, fov)
    assert len(grid) == 99 and best_f1 == pytest.approx(np.nanmax(all_f1)) and 0 < best < 1
    assert best_f1 == pytest.approx(metrics.binary_metrics(prob, truth, fov, best)["f1"])


def test_dice_iou_hand_values_and_empty_masks():
    a = np.array([1, 1, 0, 0], bool)
    b = np.array([1, 0, 1, 0], bool)
    assert metrics.dice(a, b) == pytest.approx(0.5) and metrics.iou(a, b) == pytest.approx(1 / 3)
    assert metrics.dice(np.zeros(3), np.zeros(3)) == 1.0 and metrics.iou(np.zeros(3), np.zeros(3)) == 1.0


def test_per_class_dice_iou_with_mask():
    pred = np.array([0, 1, 2, 2, 1])
    target = np.array([0, 1, 2, 1, 0])
    table = metrics.per_class_dice_iou(pred, target, 3, mask=np.array([1, 1, 1, 1, 0], bool))
    assert table["dice"] == pytest.approx([1.0, 2 / 3, 2 / 3])
    assert table["iou"] == pytest.approx([1.0, 0.5, 0.5])
    assert table["mean_dice"] == pytest.approx(np.mean([1.0, 2 / 3, 2 / 3]))


def test_auc_nan_when_one_class_missing():
    assert np.isnan(metrics.auc([0.1, 0.2], [1, 1]))


def test_confusion_matrix_counts():
    cm = metrics.confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], 3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


def test_format_table_lists_rows_and_columns():
    text = metrics.format_table({"net": {"f1": 0.5, "auc": 0.91234}, "2nd observer": {"f1": 0.25}},
                                columns=("f1", "auc", "iou"))
    header, *rows = text.split("\n")
    assert header.split() == ["f1", "auc", "iou"] and len(rows) == 2
    assert rows[0].split() == ["net", "0.5000", "0.9123", "-"]  # 4 decimals; a missing score is "-"
    assert rows[1].split() == ["2nd", "observer", "0.2500", "-", "-"]
    widths = {len(line) for line in text.split("\n")}
    assert widths == {24 + 3 * 12}  # the name column is 24 wide, each score column 12: the columns line up
    assert rows[0].index("0.5000") + len("0.5000") == header.index("f1") + len("f1")  # right-aligned under f1


def test_best_threshold_over_every_score_picks_the_cut_with_the_highest_dice():
    prob = np.array([0.1, 0.3, 0.35, 0.4, 0.8, 0.9])
    truth = np.array([0, 0, 1, 1, 1, 1], bool)
    threshold, f1 = metrics.best_threshold(prob, truth, every_score=True)
    assert threshold == 0.35 and f1 == pytest.approx(1.0)
    best = metrics.binary_metrics(prob, truth, threshold=threshold)["f1"]
    assert best == 1.0 and metrics.binary_metrics(prob, truth)["f1"] < best
    fov = np.array([1, 1, 1, 1, 1, 0], bool)
    assert metrics.best_threshold(prob, truth, fov, every_score=True)[0] == 0.35
    with pytest.raises(ValueError, match="no positive"):
        metrics.best_threshold(prob, np.zeros(6, bool), every_score=True)
    with pytest.raises(ValueError, match="not both"):
        metrics.best_threshold(prob, truth, thresholds=[0.5], every_score=True)


def brute_force_f1(p, t, threshold):
    """Pooled F1 of `p >= threshold` against t, counted pixel by pixel."""
    pred = p >= threshold
    tp, fp, fn = np.sum(pred & t), np.sum(pred & ~t), np.sum(~pred & t)
    return 2 * tp / (2 * tp + fp + fn)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_threshold_on_the_grid_and_over_every_score_on_random_maps(seed):
    rng = np.random.default_rng(seed)
    truth = [rng.random((20, 30)) < 0.15 for _ in range(2)]
    prob = [np.clip(t * 0.25 + rng.random(t.shape) * 0.75, 0, 1).astype(np.float32) for t in truth]
    fov = [rng.random((20, 30)) < 0.8 for _ in range(2)]
    p = np.concatenate([a[m] for a, m in zip(prob, fov, strict=True)])
    t = np.concatenate([a[m] for a, m in zip(truth, fov, strict=True)])
    grid = [k / 100 for k in range(1, 100)]  # 02 and 03: the first best of 0.01 ... 0.99
    grid_f1 = [brute_force_f1(p, t, th) for th in grid]
    k = int(np.argmax(grid_f1))
    assert metrics.best_threshold(prob, truth, fov) == (pytest.approx(grid[k]), pytest.approx(grid_f1[k]))
    scores = np.unique(p)  # 05: the lowest of the distinct scores with the best F1
    score_f1 = np.array([brute_force_f1(p, t, s) for s in scores])
    best = scores[np.flatnonzero(np.isclose(score_f1, score_f1.max(), rtol=1e-12))[0]]
    threshold, f1 = metrics.best_threshold(prob, truth, fov, every_score=True)
    assert threshold == float(best) and f1 == pytest.approx(score_f1.max())
    assert f1 >= metrics.best_threshold(prob, truth, fov)[1]  # every score includes the grid's best cut


def test_reconstruction_errors_are_mean_squared_and_absolute():
    X = np.zeros((2, 1, 2, 2))
    X_hat = np.array([[[[1.0, -1.0], [0.0, 0.0]]], [[[2.0, 0.0], [0.0, 0.0]]]])
    errors = metrics.reconstruction_errors(X_hat, X)
    assert errors["mse"] == pytest.approx((1 + 1 + 4) / 8)
    assert errors["mae"] == pytest.approx((1 + 1 + 2) / 8)


def test_code_separation_scores_separated_classes_high_and_ignores_scale():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 40)
    Z = rng.normal(size=(120, 3)) * 0.1 + np.eye(3)[y]
    apart = metrics.code_separation(Z[::2], y[::2], Z[1::2], y[1::2])
    assert apart["knn_accuracy"] == 1.0 and apart["silhouette"] > 0.7
    scaled = Z * np.array([1000.0, 1.0, 1.0])
    assert metrics.code_separation(scaled[::2], y[::2], scaled[1::2], y[1::2]) == pytest.approx(apart)
    mixed = metrics.code_separation(rng.normal(size=(60, 3)), y[::2], rng.normal(size=(60, 3)), y[1::2])
    assert mixed["knn_accuracy"] < 0.6 and abs(mixed["silhouette"]) < 0.1
