"""The package's metrics, PCA and the lecture's loss against independent implementations (issue 30 item 9):
scikit-learn's metrics and PCA, a rank-sum AUC, and torch's F.cross_entropy. Random and real-map inputs, ties,
empty classes and all-background images. The largest difference of each comparison is collected and written
to the terminal at the end of the module (pytest prints it without -s)."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import rankdata
from sklearn import metrics as skm
from sklearn.decomposition import PCA as SkPCA

from course_utils import losses, metrics, pca

LARGEST = {}  # comparison -> largest absolute difference seen


def record(name, ours, theirs, atol):
    """Assert ours == theirs within atol (nan == nan) and keep the largest difference of this comparison."""
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape, name
    assert np.array_equal(np.isnan(ours), np.isnan(theirs)), f"{name}: nan in one only ({ours} vs {theirs})"
    diff = float(np.max(np.abs(ours - theirs), initial=0.0, where=~np.isnan(ours)))
    LARGEST[name] = max(LARGEST.get(name, 0.0), diff)
    assert diff <= atol, f"{name}: largest difference {diff:.3g} > {atol:g}"


@pytest.fixture(scope="module", autouse=True)
def report_largest(request):
    yield
    lines = ["", "largest differences against the independent implementations:"]
    lines += [f"  {name:48s} {diff:.3g}" for name, diff in sorted(LARGEST.items())]
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n".join(lines))


def rank_auc(scores, labels):
    """AUC as the Mann-Whitney U statistic with average ranks for ties (independent of scikit-learn)."""
    labels = np.asarray(labels, bool)
    pos, neg = labels.sum(), (~labels).sum()
    if pos == 0 or neg == 0:
        return math.nan
    ranks = rankdata(scores)
    return (ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg)


def sklearn_binary(prob, truth, threshold):
    """Every score of metrics.binary_metrics from scikit-learn on already pooled pixels (nan where undefined)."""
    pred, truth = prob >= threshold, truth.astype(bool)
    nan = np.nan
    return {"accuracy": skm.accuracy_score(truth, pred),
            "sensitivity": skm.recall_score(truth, pred, zero_division=nan),
            "specificity": skm.recall_score(~truth, ~pred, zero_division=nan),
            "precision": skm.precision_score(truth, pred, zero_division=nan),
            "f1": skm.f1_score(truth, pred, zero_division=nan),
            "iou": skm.jaccard_score(truth, pred) if (truth | pred).any() else nan,  # no nan option there
            "auc": skm.roc_auc_score(truth, prob) if 0 < truth.sum() < len(truth) else nan}


def random_maps(seed, n=3, shape=(37, 41), vessel_share=0.15, levels=None):
    """Per-image probability maps, truths and round FOV masks; `levels` quantises the maps (ties)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    fov = (yy - shape[0] / 2) ** 2 + (xx - shape[1] / 2) ** 2 < (0.45 * min(shape)) ** 2
    truths = [rng.random(shape) < vessel_share for _ in range(n)]
    probs = [np.clip(0.35 * t + rng.random(shape) * 0.7, 0, 1) for t in truths]
    if levels:
        probs = [np.round(p * levels) / levels for p in probs]
    return probs, truths, [fov] * n


def compare_binary(name, probs, truths, fovs, threshold):
    ours = metrics.binary_metrics(probs, truths, fovs, threshold)
    p = np.concatenate([pm[f] for pm, f in zip(probs, fovs, strict=True)])
    t = np.concatenate([tm[f] for tm, f in zip(truths, fovs, strict=True)])
    theirs = sklearn_binary(p, t, threshold)
    for key, value in theirs.items():
        record(f"binary_metrics {key} ({name})", ours[key], value, 1e-12)
    record(f"AUC vs rank-sum ({name})", ours["auc"], rank_auc(p, t), 1e-12)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threshold", [0.05, 0.3, 0.5, 0.7])
def test_binary_metrics_random_maps(seed, threshold):
    compare_binary("random", *random_maps(seed), threshold)


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.6])
def test_binary_metrics_ties(threshold):
    """Maps on a 0.1 grid: many pixels score exactly the threshold (counted as vessel: p >= threshold)."""
    probs, truths, fovs = random_maps(7, levels=10)
    assert any(np.isclose(p, threshold).any() for p in probs)
    compare_binary("ties", probs, truths, fovs, threshold)


def test_binary_metrics_all_background_and_all_vessel():
    probs, _, fovs = random_maps(3)
    background = [np.zeros_like(f) for f in fovs]
    compare_binary("all background", probs, background, fovs, 0.5)
    ours = metrics.binary_metrics(probs, background, fovs, 0.5)
    assert math.isnan(ours["sensitivity"]) and math.isnan(ours["auc"])
    compare_binary("nothing predicted", [np.zeros_like(p) for p in probs], background, fovs, 0.5)
    compare_binary("all vessel", probs, [np.ones_like(f) for f in fovs], fovs, 0.5)


def test_binary_metrics_real_maps(real_drive):
    """The 2nd observer and a blurred 1st-observer map, scored against the 1st observer inside the real FOV."""
    from scipy.ndimage import gaussian_filter
    cases = [c for c in real_drive.test if c.vessels2 is not None][:3] or real_drive.train[:3]
    truths, fovs = [c.vessels for c in cases], [c.fov for c in cases]
    second = [(c.vessels2 if c.vessels2 is not None else c.vessels).astype(np.float32) for c in cases]
    blurred = [np.clip(gaussian_filter(t.astype(np.float32), 1.5) + 0.1 * c.image[..., 1], 0, 1)
               for t, c in zip(truths, cases, strict=True)]
    compare_binary("real, 2nd observer", second, truths, fovs, 0.5)
    for threshold in (0.2, 0.5):
        compare_binary("real, blurred map", blurred, truths, fovs, threshold)


@pytest.mark.parametrize("seed,levels", [(0, None), (1, 10), (2, 4)])
def test_f1_by_threshold_and_best_threshold(seed, levels):
    probs, truths, fovs = random_maps(seed, levels=levels)
    p = np.concatenate([pm[f] for pm, f in zip(probs, fovs, strict=True)])
    t = np.concatenate([tm[f] for tm, f in zip(truths, fovs, strict=True)])
    thresholds, f1s = metrics.f1_by_threshold(probs, truths, fovs)
    theirs = [skm.f1_score(t, p >= th, zero_division=np.nan) for th in thresholds]
    record("f1_by_threshold (0.01 grid)", f1s, theirs, 1e-12)
    best, best_f1 = metrics.best_threshold(probs, truths, fovs)
    k = int(np.nanargmax(theirs))
    record("best_threshold F1", best_f1, theirs[k], 1e-12)
    assert best == thresholds[k]
    every, every_f1 = metrics.best_threshold(probs, truths, fovs, every_score=True)
    record("best_threshold every_score F1", every_f1, skm.f1_score(t, p >= every), 1e-12)
    assert every_f1 >= best_f1 - 1e-12  # every distinct score includes the grid's best cut or a better one


@pytest.mark.parametrize("seed", range(3))
def test_per_class_dice_iou_and_confusion_matrix(seed):
    rng = np.random.default_rng(seed)
    K = 4
    target = rng.integers(0, K - 1, size=(2, 30, 31))  # class 3 never occurs in the target
    pred = np.where(rng.random(target.shape) < 0.7, target, rng.integers(0, K - 1, size=target.shape))
    mask = rng.random(target.shape) < 0.8
    table = metrics.per_class_dice_iou(pred, target, K, mask)
    t, p = target[mask], pred[mask]
    labels = list(range(K))
    record("per-class Dice vs f1_score", table["dice"], skm.f1_score(t, p, labels=labels, average=None,
                                                                      zero_division=1.0), 1e-12)
    record("per-class IoU vs jaccard_score", table["iou"], skm.jaccard_score(t, p, labels=labels, average=None,
                                                                             zero_division=1.0), 1e-12)
    assert table["dice"][3] == 1.0 and table["iou"][3] == 1.0  # absent from both: agreed (1.0, as scikit-learn)
    counts = metrics.confusion_matrix(t, p, K)
    np.testing.assert_array_equal(counts, skm.confusion_matrix(t, p, labels=labels))
    record("confusion_matrix", counts, skm.confusion_matrix(t, p, labels=labels), 0)
    assert counts[3].sum() == 0 and counts.sum() == mask.sum()


def test_dice_iou_of_masks_against_sklearn():
    rng = np.random.default_rng(5)
    for share in (0.01, 0.3, 0.9):
        a, b = rng.random((40, 40)) < share, rng.random((40, 40)) < share
        record("dice vs f1_score", metrics.dice(a, b), skm.f1_score(b.ravel(), a.ravel()), 1e-12)
        record("iou vs jaccard_score", metrics.iou(a, b), skm.jaccard_score(b.ravel(), a.ravel()), 1e-12)
    empty = np.zeros((5, 5), bool)
    assert metrics.dice(empty, empty) == 1.0 == skm.f1_score(empty.ravel(), empty.ravel(), zero_division=1.0)


@pytest.mark.parametrize("shape,k", [((200, 30), 5), ((60, 100), 20), ((500, 8), 8)])
def test_pca_against_sklearn(shape, k):
    rng = np.random.default_rng(k)
    X = rng.normal(size=shape) @ rng.normal(size=(shape[1], shape[1])) + rng.normal(size=shape[1])
    ours = pca.fit_pca(torch.from_numpy(X), k)
    theirs = SkPCA(n_components=k, svd_solver="full").fit(X)
    signs = np.sign(np.sum(ours.components.numpy() * theirs.components_, axis=1))  # directions up to sign
    assert np.all(signs != 0)
    record("PCA components (up to sign)", ours.components.numpy() * signs[:, None], theirs.components_, 1e-8)
    record("PCA explained_variance", ours.explained_variance.numpy(), theirs.explained_variance_, 1e-9)
    record("PCA explained_variance_ratio", pca.explained_variance_ratio(ours).numpy(),
           theirs.explained_variance_ratio_, 1e-12)
    record("PCA mean", ours.mean.numpy(), theirs.mean_, 1e-12)
    record("PCA codes (up to sign)", pca.pca_encode(ours, torch.from_numpy(X)).numpy() * signs,
           theirs.transform(X), 1e-8)
    record("PCA reconstruction", pca.pca_reconstruct(ours, torch.from_numpy(X)).numpy(),
           theirs.inverse_transform(theirs.transform(X)), 1e-8)


@pytest.mark.parametrize("shape", [(64, 10), (4, 3, 9, 11)])
@pytest.mark.parametrize("weighted", [False, True])
def test_log_softmax_nll_against_cross_entropy(shape, weighted):
    torch.manual_seed(0)
    logits = torch.randn(*shape, dtype=torch.float64) * 4
    target = torch.randint(0, shape[1], (shape[0],) + shape[2:])
    weight = torch.rand(shape[1], dtype=torch.float64) + 0.1 if weighted else None
    if weighted:  # the loss keeps its weights as float32: give the oracle the same numbers
        weight = weight.float().double()
    loss_fn = losses.LogSoftmaxNLLLoss(weight).double()
    ours = loss_fn(logits, target)
    theirs = F.cross_entropy(logits, target, weight=weight)
    record("LogSoftmaxNLLLoss vs F.cross_entropy", ours.item(), theirs.item(), 1e-12)
    logits.requires_grad_(True)
    g_ours, = torch.autograd.grad(loss_fn(logits, target), logits)
    g_theirs, = torch.autograd.grad(F.cross_entropy(logits, target, weight=weight), logits)
    record("LogSoftmaxNLLLoss gradient", g_ours.numpy(), g_theirs.numpy(), 1e-12)
