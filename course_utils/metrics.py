"""Metrics: FOV-masked binary segmentation scores, Dice/IoU per class, AUC and confusion matrices."""
import numpy as np
import torch
from sklearn.metrics import precision_recall_curve, roc_auc_score, silhouette_score
from sklearn.neighbors import KNeighborsClassifier


def _flat(values, fov=None):
    """Pool one array or a list of per-image arrays into a 1-D vector, keeping FOV pixels only."""
    if isinstance(values, (list, tuple)):
        masks = fov if fov is not None else [None] * len(values)
        return np.concatenate([_flat(v, m) for v, m in zip(values, masks)])
    values = np.asarray(values)
    if fov is None:
        return values.ravel()
    fov = np.asarray(fov, dtype=bool)
    if fov.shape != values.shape:
        raise ValueError(f"FOV mask shape {fov.shape} differs from the map's shape {values.shape}")
    return values[fov]


def confusion_counts(pred, truth):
    """True/false positives/negatives of two boolean vectors."""
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    tn = int(np.sum(~pred & ~truth))
    return tp, fp, fn, tn


def _ratio(num, den):
    return num / den if den else float("nan")


def scores_from_counts(tp, fp, fn, tn):
    """Accuracy, sensitivity, specificity, precision, F1 (= Dice) and IoU from counts."""
    return {"accuracy": _ratio(tp + tn, tp + fp + fn + tn),
            "sensitivity": _ratio(tp, tp + fn),
            "specificity": _ratio(tn, tn + fp),
            "precision": _ratio(tp, tp + fp),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn),
            "iou": _ratio(tp, tp + fp + fn)}


def auc(scores, labels):
    """Area under the ROC curve of scores against binary labels (nan when one class is absent)."""
    labels = np.asarray(labels, bool).ravel()
    if labels.all() or not labels.any():
        return float("nan")
    return float(roc_auc_score(labels, np.asarray(scores, dtype=np.float64).ravel()))


def binary_metrics(prob, truth, fov=None, threshold=0.5):
    """Vessel metrics inside the FOV, pooled over images (DRIVE evaluation sections)."""
    p, t = _flat(prob, fov), _flat(truth, fov).astype(bool)
    result = scores_from_counts(*confusion_counts(p >= threshold, t))
    result["auc"] = auc(p, t)
    return result


def f1_by_threshold(prob, truth, fov=None, thresholds=None):
    """Pooled F1 inside the FOV at each threshold (default 0.01 ... 0.99): (thresholds, f1s) (02, 03)."""
    thresholds = np.round(np.arange(0.01, 1.0, 0.01), 2) if thresholds is None else np.asarray(thresholds)
    p, t = _flat(prob, fov), _flat(truth, fov).astype(bool)
    pos, neg = np.sort(p[t]), np.sort(p[~t])
    tp = len(pos) - np.searchsorted(pos, thresholds, side="left")  # scores >= threshold count as vessel
    fp = len(neg) - np.searchsorted(neg, thresholds, side="left")
    fn = len(pos) - tp
    den = 2 * tp + fp + fn
    return thresholds, np.where(den > 0, 2 * tp / np.maximum(den, 1), np.nan)


def best_threshold(prob, truth, fov=None, thresholds=None, every_score=False):
    """(threshold, F1) with the highest pooled F1 (= Dice) inside the FOV; choose it on validation images.

    Searched over `thresholds` (default the 0.01 grid of f1_by_threshold: 02, 03) or, with every_score=True,
    over every distinct score (05).
    """
    if not every_score:
        thresholds, f1s = f1_by_threshold(prob, truth, fov, thresholds)
        k = int(np.nanargmax(f1s))
        return float(thresholds[k]), float(f1s[k])
    if thresholds is not None:
        raise ValueError("best_threshold: give thresholds or every_score=True, not both")
    p, t = _flat(prob, fov), _flat(truth, fov).astype(bool)
    if not t.any():
        raise ValueError("best_threshold: no positive pixel in the truth masks")
    precision, recall, cuts = precision_recall_curve(t, p)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    k = int(np.argmax(f1))
    return float(cuts[k]), float(f1[k])


def reconstruction_errors(X_hat, X):
    """Mean squared and mean absolute error per pixel of two batches of matching size (05, section 1)."""
    diff = torch.as_tensor(X_hat).double().reshape(len(X), -1) - torch.as_tensor(X).double().reshape(len(X), -1)
    return {"mse": diff.pow(2).mean().item(), "mae": diff.abs().mean().item()}


def code_separation(Z_fit, y_fit, Z_eval, y_eval, neighbours=5):
    """How well classes separate in a code space: kNN accuracy and silhouette of the eval codes (05, section 2).

    Codes are standardised with the fit codes' statistics first, so no code wins by scale alone.
    """
    Z_fit, Z_eval = np.asarray(Z_fit, dtype=np.float64), np.asarray(Z_eval, dtype=np.float64)
    mean, std = Z_fit.mean(axis=0), Z_fit.std(axis=0) + 1e-8
    Z_fit, Z_eval = (Z_fit - mean) / std, (Z_eval - mean) / std
    knn = KNeighborsClassifier(n_neighbors=neighbours).fit(Z_fit, np.asarray(y_fit))
    return {"knn_accuracy": float(knn.score(Z_eval, np.asarray(y_eval))),
            "silhouette": float(silhouette_score(Z_eval, np.asarray(y_eval)))}


def dice(pred, target):
    """Dice coefficient 2|A∩B|/(|A|+|B|) of two boolean masks (1.0 when both are empty)."""
    pred, target = np.asarray(pred, bool), np.asarray(target, bool)
    total = pred.sum() + target.sum()
    return 1.0 if total == 0 else float(2 * np.sum(pred & target) / total)


def iou(pred, target):
    """Intersection over union |A∩B|/|A∪B| of two boolean masks (1.0 when both are empty)."""
    pred, target = np.asarray(pred, bool), np.asarray(target, bool)
    union = np.sum(pred | target)
    return 1.0 if union == 0 else float(np.sum(pred & target) / union)


def per_class_dice_iou(pred, target, num_classes, mask=None):
    """Dice and IoU of each class of two label maps (optionally inside a mask), plus their means."""
    pred, target = _flat(pred, mask), _flat(target, mask)
    table = {"dice": [dice(pred == c, target == c) for c in range(num_classes)],
             "iou": [iou(pred == c, target == c) for c in range(num_classes)]}
    table["mean_dice"] = float(np.mean(table["dice"]))
    table["mean_iou"] = float(np.mean(table["iou"]))
    return table


def confusion_matrix(y_true, y_pred, num_classes):
    """Counts[i, j] of true class i predicted as j (classifier sections)."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def format_table(rows, columns=("accuracy", "sensitivity", "specificity", "f1", "iou", "auc")):
    """Plain-text table of metric dicts keyed by row name (printed under each evaluation)."""
    width = max([24] + [len(name) + 2 for name in rows])
    lines = [" " * width + "".join(f"{c:>12s}" for c in columns)]
    for name, values in rows.items():
        cells = "".join(f"{values[c]:12.4f}" if c in values else f"{'-':>12s}" for c in columns)
        lines.append(f"{name:{width}s}" + cells)
    return "\n".join(lines)
