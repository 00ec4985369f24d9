"""Run-time settings shared by every notebook: data root, smoke mode, seeding, device, parameter checks."""
import hashlib
import os
import random
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from .datasets import location
from .datasets.catalog import SOURCES
from .datasets.location import DATA_COMMAND, data_root  # noqa: F401  (notebooks call runtime.data_root())
from .datasets.sources import resolve_source

_device_cache = {}


class ParameterError(ValueError):
    """A value in a notebook's parameters cell is invalid (raised by `start` and `check`)."""


def checkpoint_dir():
    """Checkpoint folder (checkpoint_path): $COURSE_CHECKPOINT_DIR, else <repo>/checkpoints in a checkout, else
    ./checkpoints beside the notebook (the kernel's working directory) for an installed package."""
    base = location.REPO_ROOT if location.is_checkout() else Path.cwd()
    folder = os.environ.get("COURSE_CHECKPOINT_DIR") or base / "checkpoints"
    return Path(folder).expanduser().resolve()


def is_smoke():
    """True when COURSE_SMOKE=1: tiny schedules for CI (set by the test command)."""
    return os.environ.get("COURSE_SMOKE", "0").strip().lower() in ("1", "true", "yes")


def get_device(verbose=True):
    """Pick cuda, then mps, then cpu; printed once per kernel (set-up cell of every notebook).

    COURSE_DEVICE=standin picks a stand-in device played on the CPU (devices.StandInDevice): tests use it to find
    tensors and modules a notebook leaves on the CPU, without a GPU.
    """
    if "device" not in _device_cache:
        if os.environ.get("COURSE_DEVICE", "").strip().lower() == "standin":
            from .devices import use_stand_in  # late import: devices is only needed for this check
            device = use_stand_in()
        elif torch.cuda.is_available():
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
    if device == torch.device("cpu", 0) and os.environ.get("COURSE_DEVICE", "").strip().lower() == "standin":
        return "STAND-IN device played on the CPU (COURSE_DEVICE=standin, a check for tensors left behind)"
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
    """Raise ParameterError(message) unless condition holds (notebook-specific parameter checks)."""
    if not condition:
        raise ParameterError(f"Parameters cell: {message}")


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_common(params):
    """Validate the parameter names every notebook shares; other names pass through unchanged."""
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
    if "data_source" in params:
        check(params["data_source"] in SOURCES,
              f"data_source must be one of {SOURCES} (got {params['data_source']!r})")


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


def mode_line(smoke):
    """Banner line describing the schedule mode."""
    if smoke:
        return "SMOKE (COURSE_SMOKE=1): tiny schedule for CI; the numbers below mean nothing"
    return "default schedule (see the parameters cell for the lecture's full schedule)"


def source_line(dataset, source, root):
    """Banner line naming the data source; loud when it is the synthetic stand-in."""
    if source == "real":
        return f"{dataset}: REAL data from {root}"
    return (f"{dataset}: *** SYNTHETIC STAND-IN *** procedurally generated under {root / 'synthetic'}; "
            f"it imitates the real dataset's layout, not its content. Figures below do not measure the real "
            f"task (import the real data: {DATA_COMMAND} status)")


def start(title, dataset=None, data_source="auto", seed=0, smoke=None, ranges=None, **params):
    """Validate the parameters cell, apply smoke overrides, seed, pick the device, print the banner.

    `ranges` maps a parameter to its valid values, checked on the student's values before any smoke override:
    `(lo, hi)` a number (an integer when both bounds are integers), `(lo, hi, step)` an integer multiple of
    step, `[a, b, ...]` one of these values, `runtime.or_none(range)` that range or None.
    """
    params = dict(params, data_source=data_source, seed=seed)
    check_ranges(params, ranges or {})
    _check_common(params)
    smoke_mode = is_smoke()
    if smoke_mode and smoke:
        params.update(smoke)
    generator = seed_everything(seed)
    root = data_root()
    source = None
    if dataset is not None:
        source = resolve_source(dataset, data_source, root)
    device = get_device(verbose=False)
    print(f"=== {title} ===")
    if dataset is not None:
        print("data   : " + source_line(dataset, source, root))
    print(f"device : {describe_device(device)}")
    print(f"mode   : {mode_line(smoke_mode)}")
    print("params : " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
    return SimpleNamespace(**params, device=device, source=source, smoke=smoke_mode, root=root,
                           generator=generator, title=title)


def checkpoint_path(cfg, stage):
    """File for one training stage's checkpoints, named by title, stage and parameters; None when off (fit calls).

    Set `checkpoint_every = N` in a parameters cell to save every N epochs: after a kernel restart, re-running
    the notebook resumes each stage where it stopped. `fit` resumes a file only when it holds the same training
    (model, starting weights, trainable set, optimiser, loss, data, schedule); otherwise it trains from scratch and
    replaces it. Smoke runs and COURSE_CHECKPOINTS=0 never checkpoint.
    """
    every = getattr(cfg, "checkpoint_every", 0)
    if not every or cfg.smoke or os.environ.get("COURSE_CHECKPOINTS", "1") == "0":
        return None
    skip = {"device", "root", "generator", "smoke", "title", "source", "checkpoint_every"}
    params = sorted((k, repr(v)) for k, v in vars(cfg).items() if k not in skip)
    key = hashlib.sha1(repr((params, cfg.source)).encode()).hexdigest()[:10]
    slug = re.sub(r"[^a-z0-9]+", "-", cfg.title.lower()).strip("-")
    return checkpoint_dir() / f"{slug}-{stage}-{key}.pt"
