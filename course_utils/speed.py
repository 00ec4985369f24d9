"""Speed of training and inference: the memory format of convolutional networks and the precision of autocast.

`prepare_for_device(net, device)` moves a network (devices.place) and gives convolutional ones the channels_last
format on the CPU and CUDA, measured faster there for the course's U-Net, SegNet and ResNet-18
(benchmarks/run_benchmarks.py); `as_input(X, net, device)` gives their input batches the same format. training.fit,
evaluate, predict and the inference helpers of segmentation, patches and cam use both. Nothing here trains.
"""
import contextlib

import torch

from .devices import place

PRECISIONS = ("fp32", "bf16", "auto")
_LAYOUT = "_course_memory_format"  # the format prepare_for_device gave a network (private: not in checkpoint keys)
_REFUSES = "_course_refuses_channels_last"  # set when a network's forward failed on a channels_last batch


def _convolutional(net):
    return any(isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for m in net.modules())


def prepare_for_device(net, device, example=None, who="training"):
    """Move `net` to `device` (devices.place) in the memory format it runs fastest in there; returns it.

    Convolutional networks use channels_last on the CPU and CUDA. A network whose forward cannot take a
    channels_last batch (e.g. `.view` on a feature map) is found by one eval-mode forward of `example` (or of the
    first batch `as_input` sees) and kept contiguous. fit, evaluate, predict and the inference helpers of
    segmentation, patches and cam call it; `as_input` then gives their input batches the same format.
    """
    place(net, device, who)
    if not _convolutional(net):
        return net
    fast = torch.device(device).type in ("cpu", "cuda") and not getattr(net, _REFUSES, False)
    net.to(memory_format=torch.channels_last if fast else torch.contiguous_format)
    setattr(net, _LAYOUT, "channels_last" if fast else "contiguous")
    if fast and example is not None:
        _probe(net, example, device)
    return net


def _probe(net, example, device):
    """Once per network: keep it contiguous when a channels_last batch makes its forward fail."""
    if getattr(net, _REFUSES, None) is not None:
        return
    setattr(net, _REFUSES, not _takes_channels_last(net, example, device))
    if getattr(net, _REFUSES):
        net.to(memory_format=torch.contiguous_format)
        setattr(net, _LAYOUT, "contiguous")


@torch.no_grad()
def _takes_channels_last(net, example, device):
    """True when one eval-mode forward of a channels_last batch runs (the network's mode is put back)."""
    mode = net.training
    net.eval()
    try:
        net(example[:2].to(device).contiguous(memory_format=torch.channels_last))
        return True
    except RuntimeError:
        return False
    finally:
        net.train(mode)


def as_input(X, net, device):
    """A batch on `device` in the memory format `net` was prepared for (4-D images channels_last, else as is)."""
    X = X.to(device)
    if X.dim() == 4 and getattr(net, _LAYOUT, None) == "channels_last":
        _probe(net, X, device)  # may find that the network refuses the layout and switch it back
        if getattr(net, _LAYOUT) == "channels_last":
            return X.contiguous(memory_format=torch.channels_last)
    return X


def plain(output):
    """Outputs handed to losses, metrics and callers in the standard layout and in float (bf16 runs)."""
    if isinstance(output, torch.Tensor):
        if output.is_floating_point() and output.dtype != torch.float32 and output.dtype != torch.float64:
            output = output.float()
        return output.contiguous()
    return output


def resolve_precision(precision, device):
    """The autocast dtype for `precision` on `device` (None: plain fp32): "fp32", "bf16", or "auto" (bf16 only
    where the CPU computes it natively, CUDA/MPS mixed precision: bf16 where supported, else fp16)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(map(repr, PRECISIONS))} (got {precision!r})")
    kind = torch.device(device).type
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if kind == "cpu":
        return torch.bfloat16 if native_bf16_cpu() else None
    if kind == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if kind == "mps":
        return torch.float16
    return None


def native_bf16_cpu():
    """True when this CPU has bf16 instructions (AVX-512 BF16 or AMX), so bf16 autocast pays off."""
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check() for check in checks if check is not None)


def autocast(device, dtype):
    """Autocast to `dtype` on the device's type, or nothing for fp32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def scaler(device, dtype):
    """A gradient scaler for fp16 mixed precision (CUDA, MPS); None otherwise."""
    if dtype != torch.float16:
        return None
    return torch.amp.GradScaler(torch.device(device).type)
