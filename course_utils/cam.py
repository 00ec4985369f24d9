"""Class activation maps with ResNet-18 (notebook 04): model, preprocessing, CAM, Grad-CAM, pointing game.

Reads no dataset files; the only file it may touch is torchvision's cached ImageNet weights.
"""
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from . import training

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
FEATURE_LAYERS = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")
WEIGHT_CHOICES = ("auto", "imagenet", None)


# ---------------------------------------------------------------- model

def cached_weights_path():
    """Where torch hub keeps the ResNet-18 ImageNet file (04, model section)."""
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urllib.parse.urlparse(url).path).name


def host_reachable(url, timeout=3.0):
    """True when the host of `url` accepts a connection within `timeout` s (04, model section)."""
    host = urllib.parse.urlparse(url).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_imagenet_state(weights="auto", allow_download=True):
    """ImageNet ResNet-18 state dict from the hub cache or a download; None if 'auto' finds neither (04, model)."""
    choice = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    cached = cached_weights_path().exists()
    if weights == "auto" and not cached and not (allow_download and host_reachable(choice.url)):
        return None
    try:
        return choice.get_state_dict(progress=False)
    except (OSError, RuntimeError) as err:
        if weights == "imagenet":
            raise RuntimeError(f"ImageNet weights for ResNet-18 could not be loaded ({err}); "
                               f"put the file at {cached_weights_path()} or use weights=None") from err
        return None


def build_resnet18(num_classes=2, weights="auto", allow_download=True):
    """ResNet-18 with fc 512→num_classes; ImageNet weights when available, else random init (04, model)."""
    if weights not in WEIGHT_CHOICES:
        raise ValueError(f"weights={weights!r}: use one of {WEIGHT_CHOICES}, e.g. weights='auto'")
    state = None if weights is None else load_imagenet_state(weights, allow_download)
    net = torchvision.models.resnet18()
    if state is not None:
        net.load_state_dict(state)
        print(f"ResNet-18: ImageNet (IMAGENET1K_V1) weights loaded from {cached_weights_path()}")
    elif weights == "auto":
        print("NOTE: ResNet-18 starts FROM SCRATCH (random init): the ImageNet weights are not in "
              f"{cached_weights_path()} and cannot be downloaded here. The lecture fine-tuned ImageNet weights.")
    else:
        print("ResNet-18: random init (weights=None)")
    net.fc = nn.Linear(net.fc.in_features, num_classes)
    return net


# ---------------------------------------------------------------- preprocessing

def to_chw(image):
    """uint8 H×W×3 array → float 3×H×W tensor in [0, 1]; axes permuted, never swapped (04, data)."""
    return torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1).float() / 255.0


def normalise(X):
    """ImageNet mean/std normalisation of a 3×H×W or N×3×H×W tensor in [0, 1] (04, data)."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (X - mean) / std


def resize(X, size):
    """Antialiased bilinear resize of a 3×H×W tensor to size=(h, w) (04, data)."""
    return F.interpolate(X[None], size=tuple(size), mode="bilinear", antialias=True, align_corners=False)[0]


def preprocess_crops(images, size, context=0):
    """uint8 cell crops → normalised N×3×S×S tensor, S = size + 2·context (mirrored border) (04, data)."""
    X = torch.stack([normalise(resize(to_chw(im), (size, size))) for im in images])
    return F.pad(X, (context,) * 4, mode="reflect") if context else X


def scaled_shape(shape, scale):
    """(H, W) of an image after multiplying both sides by `scale` (04, CAM scale)."""
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def preprocess_smear(image, scale):
    """uint8 smear of any size → normalised 1×3×h×w tensor, resized by `scale` like the crops (04, CAM)."""
    return normalise(resize(to_chw(image), scaled_shape(image.shape, scale)))[None]


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
    return torch.stack([p[:, i:i + size[0], j:j + size[1]] for p, (i, j) in zip(padded, offsets)])


def augment(X, max_shift, generator):
    """Random rotation/flip and shift of each square cell crop; labels do not change (04, training)."""
    ks = torch.randint(0, 8, (len(X),), generator=generator).tolist()
    return random_shift(torch.stack([dihedral(x, k) for x, k in zip(X, ks)]), max_shift, generator)


class AugmentedLoader(training.AugmentedLoader):
    """Wraps a loader of (X, y) batches and augments every X afresh each epoch with `augment` (04, training)."""

    def __init__(self, loader, max_shift=0, seed=0):
        super().__init__(loader, lambda X, y, generator: (augment(X, max_shift, generator), y), seed)


# ---------------------------------------------------------------- CAM

def features(net, X, last="layer4"):
    """Fully convolutional path of a ResNet up to `last` (N×512×h×w for layer4), any input size (04, CAM)."""
    for name in FEATURE_LAYERS[: FEATURE_LAYERS.index(last) + 1]:
        X = getattr(net, name)(X)
    return X


def head(net, A):
    """The net's own head on layer4 maps: global average pooling, then fc (04, CAM)."""
    return net.fc(A.mean(dim=(-2, -1)))


def cam(features, fc_weight, class_idx):
    """CAM: sum over channels k of fc_weight[class_idx, k] * features[..., k, :, :] (04, CAM)."""
    return torch.einsum("k,...khw->...hw", fc_weight[class_idx], features)


def channel_average(features):
    """Plain average of all channels, the lecture's unweighted map (04, CAM)."""
    return features.mean(dim=-3)


def local_logits(features, fc):
    """fc applied at every position of C×h×w maps → K×h×w (CAM plus bias); their mean is the logit (04, CAM)."""
    return torch.einsum("ck,khw->chw", fc.weight, features) + fc.bias.view(-1, 1, 1)


def upsample(m, size):
    """Bilinear upsampling of an h×w map to size=(H, W), e.g. the image size (04, CAM)."""
    return F.interpolate(m[None, None].float(), size=tuple(size), mode="bilinear", align_corners=False)[0, 0]


@dataclass
class CamResult:
    """What `image_cam` returns: layer4 maps, CAM of the chosen class, that class and the probabilities."""
    maps: torch.Tensor
    cam: torch.Tensor
    class_idx: int
    probs: torch.Tensor


def image_cam(net, x, class_idx=None):
    """No-grad CAM of one 1×3×H×W input for the PREDICTED class unless `class_idx` is given (04, CAM)."""
    net.eval()
    with torch.no_grad():
        A = features(net, x)[0]
        probs = F.softmax(head(net, A), dim=-1)
        c = int(probs.argmax()) if class_idx is None else int(class_idx)
        return CamResult(maps=A, cam=cam(A, net.fc.weight, c), class_idx=c, probs=probs)


def grad_cam(net, x, class_idx=None, layer="layer4"):
    """Grad-CAM at `layer`: ReLU(sum_k mean(d logit_c / d A_k) * A_k); returns (map, class) (04, Grad-CAM)."""
    net.eval()
    A = features(net, x, last=layer)
    h = A
    for name in FEATURE_LAYERS[FEATURE_LAYERS.index(layer) + 1:]:
        h = getattr(net, name)(h)
    logits = head(net, h)[0]
    c = int(logits.argmax()) if class_idx is None else int(class_idx)
    (grad,) = torch.autograd.grad(logits[c], A)
    alpha = grad[0].mean(dim=(1, 2))
    return torch.relu(torch.einsum("k,khw->hw", alpha, A[0].detach())), c


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
