"""Plumbing of the CAM notebooks (04, 04b): ImageNet weights lookup and recipes, preprocessing, augmentation,
peaks and the pointing game, crops from boxed photographs.

The network, its head swap, the CAM and Grad-CAM are taught in notebook 04's cells (course_utils.lessons).
Reads no dataset files; the only file it may touch is torchvision's cached ImageNet weights.
"""
import socket
import urllib.parse

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

from . import settings, weights

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
WEIGHT_CHOICES = ("auto", "imagenet", None)
TRAIN_LAYERS = ("all", "layer4", "fc")
TRANSFER_ARMS = ("ImageNet, all layers", "ImageNet, layer4 + fc", "ImageNet, fc only", "random weights, all layers")
# The two recipes of notebook 04 (section 3 explains every value). Fine-tuning is the lecture's own recipe
# (ImageNet normalisation added); from scratch needs larger steps, augmentation and a border (see there).
RECIPES = {
    "fine-tuning": dict(input_size=224, num_epochs=15, lr=1e-3, augment=False, context=0, decay_epochs=0),
    "from scratch": dict(input_size=128, num_epochs=12, lr=0.01, augment=True, context=32, decay_epochs=4),
}


# ---------------------------------------------------------------- ImageNet weights and recipes

def cached_weights_path():
    """Where torch hub keeps the ResNet-18 ImageNet file (04, model section): the data command's `weights` module."""
    return weights.cached_path()


def host_reachable(url, timeout=3.0):
    """True when the host of `url` accepts a connection within `timeout` s (04, model section)."""
    host = urllib.parse.urlparse(url).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def missing_weights_fix():
    """What to do when the ImageNet file is absent: where exactly to put it (04, set-up cell)."""
    url, path = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url, cached_weights_path()
    return (f"on a machine with internet, download {url}, then import it here with "
            f"`resnet18-weights --from {path.name}` of the data command (`python data_download.py` in a clone, "
            f"`course-data` when installed; it checks the file and puts it into {path}; "
            f"the folder follows $TORCH_HOME), then run the notebook again")


def load_imagenet_state(weights="auto", allow_download=True):
    """ImageNet ResNet-18 state dict from the hub cache or a download; None if 'auto' finds neither (04, model).

    weights = "imagenet" without a usable file stops with a ParameterError that says where to put it.
    """
    if weights not in WEIGHT_CHOICES:
        raise settings.ParameterError(f"Parameters cell: weights = {weights!r}: use one of {WEIGHT_CHOICES}")
    if weights is None:
        return None
    choice = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    cached = cached_weights_path().exists()
    reason = None
    if not cached and not (allow_download and host_reachable(choice.url)):
        reason = f"{cached_weights_path()} does not exist and {urllib.parse.urlparse(choice.url).hostname} " \
                 f"cannot be reached"
    else:
        try:
            return choice.get_state_dict(progress=False)
        except (OSError, RuntimeError, EOFError, ValueError) as err:
            reason = f"{cached_weights_path()} could not be read or downloaded ({err})"
    if weights == "imagenet":
        raise settings.ParameterError(f"Parameters cell: weights = \"imagenet\" (lecture_schedule = True implies it) "
                                     f"but {reason}. Fix: {missing_weights_fix()}; or set weights = \"auto\" to "
                                     f"train from scratch")
    return None


def choose_recipe(weights, lecture_schedule=False, allow_download=True):
    """(ImageNet state dict or None, recipe name): fine-tuning when the weights load, else from scratch (04 set-up)."""
    state = load_imagenet_state("imagenet" if lecture_schedule else weights, allow_download)
    return state, "fine-tuning" if state is not None else "from scratch"


def recipe_settings(recipe, **chosen):
    """The recipe's value for every setting left at None in `chosen`; the others as given (04 set-up)."""
    return {k: RECIPES[recipe][k] if chosen.get(k) is None else chosen[k] for k in RECIPES[recipe]}


def recipe_note(recipe, weights, lecture_schedule=False):
    """What the run does and why, for the set-up cell's output (depends on the recipe taken) (04)."""
    path = cached_weights_path()
    if recipe == "fine-tuning" and lecture_schedule:
        return (f"recipe : THE LECTURE'S RECIPE: ImageNet weights (loaded from {path}) fine-tuned on crops resized "
                f"to 224 px, SGD lr 1e-3, no augmentation, inputs divided by 255 only (no ImageNet normalisation).")
    if recipe == "fine-tuning":
        return (f"recipe : FINE-TUNING the ImageNet weights (loaded from {path}): the lecture's recipe, crops "
                f"resized to 224 px, SGD lr 1e-3. Inputs get the ImageNet mean/std normalisation the weights were "
                f"trained with (the lecture only divided by 255; lecture_schedule = True does that).")
    why = ("weights = None asks for random weights" if weights is None else
           f"the ImageNet weights are not in {path} and cannot be downloaded here")
    return (f"recipe : FROM SCRATCH (random weights): {why}. The lecture fine-tuned ImageNet weights; without "
            f"them the from-scratch recipe uses larger steps (lr 0.01), 128 px crops with a mirrored border, "
            f"augmentation and a step decay (section 3). To fine-tune as the lecture did: {missing_weights_fix()}.")


# ---------------------------------------------------------------- preprocessing

def to_chw(image):
    """uint8 H×W×3 array → float 3×H×W tensor in [0, 1]; axes permuted, never swapped (04, data)."""
    return torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1).float() / 255.0


def normalise_imagenet(X):
    """ImageNet mean/std normalisation of a 3×H×W or N×3×H×W tensor in [0, 1] (04, data)."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (X - mean) / std


def resize(X, size):
    """Antialiased bilinear resize of a 3×H×W tensor to size=(h, w) (04, data)."""
    return F.interpolate(X[None], size=tuple(size), mode="bilinear", antialias=True, align_corners=False)[0]


def preprocess_crops(images, size, context=0, normalise=True):
    """uint8 cell crops → N×3×S×S tensor, S = size + 2·context (mirrored border), ImageNet-normalised unless
    normalise=False (the lecture's /255 only) (04, data)."""
    X = torch.stack([resize(to_chw(im), (size, size)) for im in images])
    X = normalise_imagenet(X) if normalise else X
    return F.pad(X, (context,) * 4, mode="reflect") if context else X


def scaled_shape(shape, scale):
    """(H, W) of an image after multiplying both sides by `scale` (04, CAM scale)."""
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def preprocess_smear(image, scale, normalise=True):
    """uint8 smear of any size → 1×3×h×w tensor resized by `scale` like the crops, normalised as they are (04, CAM)."""
    X = resize(to_chw(image), scaled_shape(image.shape, scale))
    return (normalise_imagenet(X) if normalise else X)[None]


def displayable(X, normalised=True):
    """Undo the ImageNet normalisation of a 3×H×W input for display, clipped to [0, 1] (04, 04b figures)."""
    if normalised:
        X = X * torch.tensor(IMAGENET_STD).view(3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    return X.clamp(0, 1)


# ---------------------------------------------------------------- augmentation

def dihedral(X, k):
    """One of the 8 rotations/flips (k = 0..7) of square images ...×S×S (04, training)."""
    X = torch.rot90(X, k % 4, dims=(-2, -1))
    return X.flip(-1) if k >= 4 else X


def random_shift(X, max_shift, generator):
    """Each image shifted by up to ±max_shift pixels, borders filled by reflection (04, training)."""
    if max_shift == 0:
        return X
    size = X.shape[-2:]
    padded = F.pad(X, (max_shift,) * 4, mode="reflect")
    offsets = torch.randint(0, 2 * max_shift + 1, (len(X), 2), generator=generator).tolist()
    return torch.stack([p[:, i:i + size[0], j:j + size[1]] for p, (i, j) in zip(padded, offsets, strict=True)])


def augment(X, max_shift, generator):
    """Random rotation/flip and shift of each square cell crop; labels do not change (04, training)."""
    ks = torch.randint(0, 8, (len(X),), generator=generator).tolist()
    return random_shift(torch.stack([dihedral(x, k) for x, k in zip(X, ks, strict=True)]), max_shift, generator)


# ---------------------------------------------------------------- peaks and pointing game

def peak_xy(m):
    """(x, y) of the maximum of a 2-D map, in that map's pixel coordinates (04, pointing)."""
    idx = int(torch.as_tensor(m).argmax())
    width = m.shape[1]
    return float(idx % width), float(idx // width)


def grid_to_image(xy, map_shape, image_shape):
    """Map (x, y) positions on an h×w grid to the centres of the matching cells of an H×W image (04, pointing)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    sx, sy = image_shape[1] / map_shape[1], image_shape[0] / map_shape[0]
    return np.stack([(xy[:, 0] + 0.5) * sx - 0.5, (xy[:, 1] + 0.5) * sy - 0.5], axis=1)


def peak_in_image(m, image_shape):
    """(x, y) in H×W image pixels of the maximum of an h×w map computed on a resized copy (04, pointing)."""
    return tuple(float(v) for v in grid_to_image([peak_xy(m)], m.shape, image_shape)[0])


def find_peaks(m, threshold=0.0, min_distance=1):
    """(x, y) of local maxima of a 2-D map above `threshold`, highest first (04, false peaks)."""
    m = torch.as_tensor(m, dtype=torch.float32).cpu()
    k = 2 * min_distance + 1
    pooled = F.max_pool2d(m[None, None], k, stride=1, padding=min_distance)[0, 0]
    ys, xs = torch.nonzero((m == pooled) & (m > threshold), as_tuple=True)
    order = torch.argsort(m[ys, xs], descending=True)
    return np.stack([xs[order].numpy(), ys[order].numpy()], axis=1).astype(float)


def hits(points, centroids, radius):
    """For each (x, y) point: does it lie within `radius` of any (x, y) centroid? (04, pointing)."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    centroids = np.asarray(centroids, dtype=float).reshape(-1, 2)
    if len(centroids) == 0:
        return np.zeros(len(points), dtype=bool)
    dist = np.linalg.norm(points[:, None, :] - centroids[None, :, :], axis=-1)
    return (dist <= radius).any(axis=1)


def pointing_score(peaks, centroid_lists, radius):
    """Share of images whose peak (x, y) is within `radius` of one of its centroids (04, pointing)."""
    return float(np.mean([hits(p, c, radius)[0] for p, c in zip(peaks, centroid_lists)]))


def random_point_score(shapes, centroid_lists, radius, num_points=2000, seed=0):
    """Baseline: expected pointing score of a uniformly random point in each H×W image (04, pointing)."""
    rng = np.random.default_rng(seed)
    scores = []
    for (height, width), centroids in zip(shapes, centroid_lists):
        points = rng.uniform([0, 0], [width, height], size=(num_points, 2))
        scores.append(hits(points, centroids, radius).mean())
    return float(np.mean(scores))


def centre_point_score(shapes, centroid_lists, radius):
    """Baseline: pointing score of always pointing at the centre of each H×W image (04, pointing)."""
    centres = [((width - 1) / 2, (height - 1) / 2) for height, width in shapes]
    return pointing_score(centres, centroid_lists, radius)


# ---------------------------------------------------------------- crops from annotated photographs

def _overlap_share(window, boxes):
    """For each K×4 box (xmin, ymin, xmax, ymax): the share of its area inside the window (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = window
    w = np.clip(np.minimum(boxes[:, 2], x1) - np.maximum(boxes[:, 0], x0), 0, None)
    h = np.clip(np.minimum(boxes[:, 3], y1) - np.maximum(boxes[:, 1], y0), 0, None)
    area = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1.0)
    return w * h / area


def object_crops(image, boxes, side, jitter, negatives, rng, max_overlap=0.1, tries=50):
    """Square crops of one photograph: one per box (centre shifted by up to ±jitter px), label 1, and up to
    `negatives` crops holding at most max_overlap of any box's area, label 0 (04 solutions, BCCD)."""
    height, width = image.shape[:2]
    crops, labels = [], []

    def cut(x, y):
        x0 = int(np.clip(round(x - side / 2), 0, width - side))
        y0 = int(np.clip(round(y - side / 2), 0, height - side))
        return image[y0:y0 + side, x0:x0 + side], (x0, y0, x0 + side, y0 + side)

    for xmin, ymin, xmax, ymax in boxes:
        dx, dy = rng.uniform(-jitter, jitter, 2)
        crops.append(cut((xmin + xmax) / 2 + dx, (ymin + ymax) / 2 + dy)[0])
        labels.append(1)
    found = 0
    for _ in range(tries):
        if found == negatives:
            break
        crop, window = cut(rng.uniform(0, width), rng.uniform(0, height))
        if len(boxes) == 0 or _overlap_share(window, np.asarray(boxes)).max() <= max_overlap:
            crops.append(crop)
            labels.append(0)
            found += 1
    return crops, labels


def shrink(image, scale):
    """uint8 H×W×3 image resized by `scale` (antialiased), still uint8 H×W×3 (04 solutions, BCCD)."""
    X = resize(to_chw(image), scaled_shape(image.shape, scale))
    return X.mul(255).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()


def crop_dataset(images, box_lists, scale, side, negatives=1, seed=0, normalise=True):
    """Normalised crops of `side` px from photographs shrunk by `scale`: one per box (label 1) and up to
    `negatives` box-free ones per photograph (label 0); returns (X, y) (04 solutions, BCCD)."""
    rng = np.random.default_rng(seed)
    crops, labels = [], []
    for image, boxes in zip(images, box_lists):
        image_crops, image_labels = object_crops(shrink(image, scale), np.asarray(boxes) * scale, side, side / 8,
                                                 negatives, rng)
        crops += image_crops
        labels += image_labels
    X = torch.stack([to_chw(c) for c in crops])
    return (normalise_imagenet(X) if normalise else X), torch.tensor(labels)


def map_peaks(cam_of, images, scale, normalise=True, device="cpu"):
    """Peak (x, y), in each image's own pixels, of the map `cam_of(x)` of every image shown at `scale`, e.g.
    cam_of = lambda x: image_cam(net, x, 1).cam (04 pointing game, 04b)."""
    return [peak_in_image(cam_of(preprocess_smear(im, scale, normalise).to(device)).cpu(), im.shape[:2])
            for im in images]
