"""A second device played on the CPU, for tests: tensors moved to STAND_IN are marked, results of marked inputs
are marked, and an operation that mixes marked with unmarked tensors fails with the error a GPU would give.

The nbval run of every notebook and solution uses it without a GPU (the root conftest.py; tests/test_devices.py
for the unit cases): `startup_folder(tmp)` writes an IPython startup file into a temporary IPYTHONDIR, so each
kernel calls `install()` before its first cell.
"""
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

STAND_IN = torch.device("cpu", 0)  # what course_utils.settings.get_device() returns once install() ran
DESCRIPTION = "STAND-IN device played on the CPU (tests/standin_device.py, a check for tensors left behind)"
_MARK = "_course_on_stand_in"
_state = {"mode": None}


def on_stand_in(t):
    """True for a tensor that lives on the stand-in device."""
    return bool(getattr(t, _MARK, False))


def device_of(t):
    """The device a tensor is on, the stand-in device included."""
    return STAND_IN if on_stand_in(t) else t.device


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
    """Switch the stand-in device on for the rest of the process; returns STAND_IN."""
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


def install():
    """Switch the stand-in on and make course_utils.settings.get_device() return it (IPython startup file)."""
    from course_utils import settings
    use_stand_in()
    settings._device_cache["device"] = STAND_IN
    describe = settings.describe_device
    settings.describe_device = lambda device: DESCRIPTION if device == STAND_IN else describe(device)
    return STAND_IN


def startup_folder(ipython_dir):
    """Write an IPython profile whose startup file calls install(); set IPYTHONDIR to the returned folder."""
    startup = Path(ipython_dir) / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    tests = Path(__file__).resolve().parent
    (startup / "00-standin-device.py").write_text(
        f"import sys\nsys.path.insert(0, {str(tests)!r})\nimport standin_device\nstandin_device.install()\n")
    return Path(ipython_dir)
