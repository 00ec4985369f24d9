"""Speed of training and inference: the memory format of convolutional networks and the precision of autocast.

`prepare_for_device(net, device)` moves a network (devices.place) and gives convolutional ones the channels_last
format on the CPU and CUDA, measured faster there for the course's U-Net, SegNet and ResNet-18
(benchmarks/run_benchmarks.py); `as_input(X, net, device)` gives their input batches the same format. training.fit,
evaluate, predict and the inference helpers of segmentation, patches and cam use both. `keep_freed_memory()` (fit)
stops glibc from mapping and unmapping every large tensor. Nothing here trains.
"""
import contextlib
import ctypes
import functools
import sys

import torch

from .devices import place

PRECISIONS = ("fp32", "bf16", "auto")
_LAYOUT = "_course_memory_format"  # the format prepare_for_device gave a network (private: not in checkpoint keys)
_REFUSES = "_course_refuses_channels_last"  # set when a network's forward failed on a channels_last batch
_POOL_HOOK = "_course_pool_grad_hook"  # set on a MaxPool2d once its gradient-layout hook is registered


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
    if fast:
        _keep_pool_gradients_channels_last(net)
    if fast and example is not None:
        _probe(net, example, device)
    return net


@functools.cache
def keep_freed_memory():
    """Linux/glibc: serve large tensors from the heap and keep freed memory for the next batch (mallopt
    M_MMAP_MAX = 0, M_TRIM_THRESHOLD = 1 GiB) instead of mapping and unmapping them every step, whose page faults
    made 03's SegNet memory-bound: measured 1.8 -> 0.7 s per 256 crops, U-Net 1.1 -> 0.9 s, the same numbers, the
    kernel's peak memory 0.93 -> 1.04 GB (benchmarks/profile_segnet.py). Once per process (fit calls it); True
    when the allocator now works this way, False elsewhere (macOS, Windows, musl: nothing changes)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc.mallopt(-4, 0) == 1 and libc.mallopt(-1, 2 ** 30) == 1
    except (OSError, AttributeError):
        return False


def _keep_pool_gradients_channels_last(net):
    """Max-pooling with indices (SegNet): the gradient max_unpool2d's backward hands to the pooled maps comes back
    contiguous, and max_pool2d's backward then converts it to channels_last at full resolution. A hook gives that
    gradient the maps' own layout first: the same numbers, measured 133 -> 202 samples/s for 03's SegNet
    (benchmarks/profile_segnet.py). Registered once per pooling module."""
    for module in net.modules():
        if isinstance(module, torch.nn.MaxPool2d) and module.return_indices and not getattr(module, _POOL_HOOK, False):
            module.register_forward_hook(_pool_output_hook)
            setattr(module, _POOL_HOOK, True)


def _pool_output_hook(module, args, output):
    pooled = output[0]
    if pooled.requires_grad and pooled.dim() == 4 and pooled.is_contiguous(memory_format=torch.channels_last):
        pooled.register_hook(lambda grad: grad.contiguous(memory_format=torch.channels_last))


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


def precision_line(precision, device):
    """Banner line (runtime.start) saying how the notebook's trainings compute with the parameter `precision`."""
    dtype = resolve_precision(precision, device)
    if dtype is None:
        why = " (this CPU has no native bf16)" if precision == "auto" else ""
        return f"fp32{why}; precision = \"bf16\" trains in bf16 autocast (faster, figures move a little: README)"
    name = "bf16" if dtype == torch.bfloat16 else "fp16"
    native = "" if torch.device(device).type != "cpu" else (
        ", native on this CPU" if native_bf16_cpu() else ", NOT native on this CPU: likely slower than fp32")
    return f"trainings (their validation curves included) in {name} autocast{native}; the final figures in fp32"


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
