"""Models follow the device: the training helpers place a model on the device they are given, and check it.

`place(net, device)` is the one place where fit, evaluate, predict and the notebooks' prediction helpers move a
model. `StandInDevice` plays a second device on the CPU, so that a machine without a GPU finds the tensors and
modules a notebook leaves behind (COURSE_DEVICE=standin, used by tests/test_devices.py).
"""
import torch
from torch.overrides import TorchFunctionMode

STAND_IN = torch.device("cpu", 0)  # what runtime.get_device() returns under COURSE_DEVICE=standin
_MARK = "_course_on_stand_in"
_state = {"mode": None}


def on_stand_in(t):
    """True for a tensor that lives on the stand-in device (see StandInDevice)."""
    return bool(getattr(t, _MARK, False))


def device_of(t):
    """The device a tensor is on, the stand-in device included."""
    return STAND_IN if on_stand_in(t) else t.device


def same_device(actual, wanted):
    """True when device `actual` is `wanted` (an index-free 'cuda' matches any CUDA index)."""
    actual, wanted = torch.device(actual), torch.device(wanted)
    if wanted == STAND_IN or actual == STAND_IN:
        return actual == wanted
    return actual.type == wanted.type and (wanted.index is None or actual.index == wanted.index)


def check_on_device(net, device, who="training"):
    """Raise a clear error when a parameter, buffer or plain tensor attribute of `net` is not on `device`."""
    for name, t in list(net.named_parameters()) + list(net.named_buffers()):
        if not same_device(device_of(t), device):
            raise RuntimeError(f"{who}: {name} of {type(net).__name__} is on {device_of(t)}, not on {device}")
    for module_name, module in net.named_modules():
        for attr, value in vars(module).items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and not same_device(device_of(value), device):
                where = f"{module_name}.{attr}" if module_name else attr
                raise RuntimeError(
                    f"{who}: {type(module).__name__} keeps the tensor attribute '{where}' on {device_of(value)}, "
                    f"so moving the model to {device} leaves it behind; register it with "
                    f"self.register_buffer('{attr}', tensor) in __init__")


def place(net, device, who="training"):
    """Move `net` to `device` in place (its parameters keep their identity, so optimisers stay valid); check it."""
    net.to(device)
    check_on_device(net, device, who)
    return net


def _tensors(value, depth=0):
    """Tensors inside an argument (lists, tuples and dicts two levels deep, as foreach ops pass them)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if depth < 2 and isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v, depth + 1)]
    if depth < 2 and isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v, depth + 1)]
    return []


def _mark(value, flag=True):
    for t in _tensors(value):
        try:
            setattr(t, _MARK, flag)
        except (AttributeError, RuntimeError):
            pass
    return value


def _target(func, args, kwargs):
    """The device a call asks for: STAND_IN, another device, or None when it names none."""
    device = kwargs.get("device")
    if device is None and getattr(func, "__name__", "") == "to":
        for a in args[1:]:
            if isinstance(a, (torch.device, str)):
                device = a
            elif isinstance(a, torch.Tensor):
                device = device_of(a)
    if device is None and getattr(func, "__name__", "") == "cpu":
        device = "cpu"
    return None if device is None else torch.device(device)


_NO_CHECK = {"__getitem__", "__setitem__", "copy_", "to", "cpu", "__repr__", "__str__", "__format__",
             "__reduce_ex__", "__deepcopy__", "__get__", "__set__", "__len__", "__iter__", "__hash__",
             "__contains__", "dim", "size", "numel"}


class StandInDevice(TorchFunctionMode):
    """A second device played on the CPU: tensors moved to STAND_IN are marked, results of marked inputs are
    marked, and an operation that mixes marked with unmarked tensors (other than 0-dim ones and indices) fails
    with the error a GPU would give. `.numpy()` of a marked tensor fails as it does for a CUDA tensor."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        descriptor = getattr(getattr(func, "__self__", None), "__name__", None)
        if name == "__get__" and descriptor == "device":
            return device_of(args[0])
        if name in ("numpy", "__array__") and args and on_stand_in(args[0]):
            raise TypeError(f"can't convert {STAND_IN} (stand-in device) tensor to numpy. "
                            f"Use Tensor.cpu() to copy the tensor to host memory first.")
        if name == "__set__" and descriptor == "data":
            func(*args, **kwargs)
            _mark(args[0], on_stand_in(args[1]))
            return None
        target = _target(func, args, kwargs)
        if target == STAND_IN:
            kwargs = dict(kwargs, device=torch.device("cpu")) if "device" in kwargs else kwargs
            args = tuple(torch.device("cpu") if isinstance(a, torch.device) and a == STAND_IN else a for a in args)
        inputs = _tensors(list(args) + list(kwargs.values()))
        marked = [t for t in inputs if on_stand_in(t)]
        if name == "__getitem__":
            marked = marked[:1] if inputs and on_stand_in(inputs[0]) else []
        elif marked and name not in _NO_CHECK and not (name.startswith("_") and not name.startswith("__")):
            stray = [t for t in inputs if not on_stand_in(t) and t.dim() > 0]
            if stray:
                raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                                   f"{STAND_IN} (stand-in) and {stray[0].device}! (when calling {name})")
        out = func(*args, **kwargs)
        if target is not None:
            if name in ("to", "cpu") and inputs and out is inputs[0]:
                out = out.view_as(out)  # a new tensor object, so the source keeps its device
            return _mark(out, target == STAND_IN)
        return _mark(out) if marked else out


def use_stand_in():
    """Switch the stand-in device on for the rest of the process; returns STAND_IN (runtime.get_device)."""
    if _state["mode"] is None:
        _state["mode"] = StandInDevice()
        _state["mode"].__enter__()
        torch.nn.Parameter.__deepcopy__ = _marked_deepcopy(torch.nn.Parameter.__deepcopy__)
    return STAND_IN


def _marked_deepcopy(deepcopy):
    """Parameter.__deepcopy__ that keeps the stand-in mark, as a copy of a GPU parameter stays on the GPU."""
    def copy_parameter(self, memo):
        return _mark(deepcopy(self, memo), on_stand_in(self))
    return copy_parameter
