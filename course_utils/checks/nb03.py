"""Self-checks of notebook 03's exercises (SegNet and U-Net on DRIVE): `nb03.exercise_1(segnet)` and so on."""
import torch
from torch.overrides import TorchFunctionMode

from . import report


class _Calls(TorchFunctionMode):
    """Records the name of every torch function a forward pass calls (pooling, unpooling, interpolation)."""

    def __init__(self):
        super().__init__()
        self.names = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))


def _forward(net, x):
    """(output or None, names of the functions called, error text or None) of one forward pass in eval mode."""
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    calls = _Calls()
    try:
        with torch.no_grad(), calls:
            out = net(x.to(device))
        return out.cpu(), calls.names, None
    except Exception as error:  # the student's forward is what is being checked
        return None, calls.names, f"{type(error).__name__}: {error}"
    finally:
        net.train(was_training)


def _count(names, word):
    return sum(word in name for name in names)


def _shape_items(out, error, x, num_classes):
    """Items shared by the SegNet checks: the forward runs and gives one map per class at the input's size."""
    expected = (x.shape[0], num_classes, *x.shape[-2:])
    return [(error is None, "the forward pass runs on a 2×3×48×40 batch",
             f"it raised {error}; run the class cell again after editing it"),
            (out is not None and tuple(out.shape) == expected,
             f"the output keeps the input's size: one map per class ({num_classes}×48×40)",
             f"got {None if out is None else tuple(out.shape)}; give each unpooling the size its pooling saw "
             "(output_size=...)")]


def exercise_1(segnet, num_classes=3):
    """03 exercise 1: the SegNet has two pooling stages, unpools twice with indices, keeps the input size."""
    x = torch.randn(2, 3, 48, 40, generator=torch.Generator().manual_seed(0))
    out, names, error = _forward(segnet, x)
    pools, unpools = _count(names, "max_pool"), _count(names, "max_unpool")
    items = _shape_items(out, error, x, num_classes)
    items += [(pools >= 2, "two max-pooling stages in forward",
               f"forward max-pools {pools} time(s); pool after each of two conv-ReLU layers, keeping both indices"),
              (unpools >= 2, "two max-unpooling steps with the indices",
               f"forward unpools {unpools} time(s); unpool the deepest stage first, with its own indices"),
              (getattr(segnet, "stride", None) == 2 ** max(pools, 1),
               "`stride` matches the poolings (whole images are padded to it)",
               f"stride is {getattr(segnet, 'stride', None)!r}; each 2×2 pooling doubles it")]
    return report("exercise 1, a deeper SegNet", items)


def exercise_2(segnet, num_classes=3):
    """03 exercise 2: the SegNet's decoder upsamples by interpolation instead of max-unpooling."""
    x = torch.randn(2, 3, 48, 40, generator=torch.Generator().manual_seed(0))
    out, names, error = _forward(segnet, x)
    items = _shape_items(out, error, x, num_classes)
    items += [(_count(names, "max_unpool") == 0, "no max-unpooling left in forward",
               "forward still calls the unpooling; upsample the pooled maps instead"),
              (_count(names, "interpolate") >= 1, "forward upsamples by interpolation",
               "use F.interpolate(x, scale_factor=2, mode=\"nearest\") where the unpooling was")]
    return report("exercise 2, interpolation instead of unpooling", items)
