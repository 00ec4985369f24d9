"""Settings every notebook and helper shares, importing nothing of the data layer: smoke mode, parameter checks
and ranges (`ParameterError`, `check`, `or_none`, `check_ranges`), seeding and the device (runtime.start)."""
import os
import random

import numpy as np
import torch

_device_cache = {}


class ParameterError(ValueError):
    """A value in a notebook's parameters cell is invalid (raised by `runtime.start` and `check`)."""


def is_smoke():
    """True when COURSE_SMOKE=1: tiny schedules for CI (set by the test command)."""
    return os.environ.get("COURSE_SMOKE", "0").strip().lower() in ("1", "true", "yes")


def get_device(verbose=True):
    """Pick cuda, then mps, then cpu; printed once per kernel (set-up cell of every notebook)."""
    if "device" not in _device_cache:
        if torch.cuda.is_available():
            device = torch.device("cuda")
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = torch.device("mps")
        else:
            device = torch.device("cpu")
        _device_cache["device"] = device
        if verbose:
            print(f"device : {describe_device(device)}")
    return _device_cache["device"]


def describe_device(device):
    """One-line description of a device for the notebook banner."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def seed_everything(seed):
    """Seed python, numpy and torch; return a seeded torch.Generator for DataLoaders (set-up cell)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def check(condition, message):
    """Raise ParameterError(message) unless condition holds (cross-parameter checks of a set-up cell)."""
    if not condition:
        raise ParameterError(f"Parameters cell: {message}")


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_common(params):
    """Validate the parameter names every notebook shares (epochs, batch sizes, learning rates, seed)."""
    counts = tuple(k for k in params if k.endswith(("_epochs", "_every", "batch_size")))
    for name in ("num_epochs", "batch_size") + counts:
        if name in params:
            value = params[name]
            minimum = 1 if name.endswith("batch_size") or name == "num_epochs" else 0
            check(_is_int(value) and value >= minimum,
                  f"{name} must be an integer >= {minimum} (got {value!r}), e.g. {name} = 5")
    for name in [k for k in params if k == "lr" or k.endswith("_lr")]:
        value = params[name]
        check(isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 100,
              f"{name} must be a positive number such as 1e-3 (got {value!r})")
    if "seed" in params:
        check(_is_int(params["seed"]) and params["seed"] >= 0,
              f"seed must be a non-negative integer (got {params['seed']!r}), e.g. seed = 0")


def or_none(spec):
    """A range for `start(ranges=...)` that also accepts None (a value left to be chosen on validation)."""
    return ("or None", spec)


def _describe_range(spec):
    """Readable text of one range: 'an integer from 1 to 500', 'one of ...', '... or None'."""
    if isinstance(spec, tuple) and spec[:1] == ("or None",):
        return _describe_range(spec[1]) + ", or None"
    if isinstance(spec, list):
        return "one of " + ", ".join(repr(v) for v in spec)
    lo, hi, *step = spec
    if step:
        return f"a multiple of {step[0]} from {lo} to {hi}"
    kind = "an integer" if _is_int(lo) and _is_int(hi) else "a number"
    return f"{kind} from {lo:g} to {hi:g}"


def in_range(value, spec):
    """True when a parameter value satisfies its range (the forms `start(ranges=...)` accepts)."""
    if isinstance(spec, tuple) and spec[:1] == ("or None",):
        return value is None or in_range(value, spec[1])
    if isinstance(spec, list):
        return any(value is v or (type(value) is type(v) and value == v) for v in spec)
    lo, hi, *step = spec
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    if (step or (_is_int(lo) and _is_int(hi))) and not _is_int(value):
        return False
    return lo <= value <= hi and (not step or value % step[0] == 0)


def check_ranges(params, ranges):
    """Stop at the first parameter outside its declared range, naming it, the range and the value (start)."""
    unknown = sorted(set(ranges) - set(params))
    if unknown:
        raise ValueError(f"ranges names parameters that start() was not given: {unknown}")
    for name, spec in ranges.items():
        check(in_range(params[name], spec),
              f"{name} must be {_describe_range(spec)} (got {params[name]!r})")
