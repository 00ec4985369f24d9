"""The notebook start: `start(...)` checks the parameters cell, resolves each data source once, seeds, picks the
device and prints the banner; checkpoint files of a run. Settings that need no data layer live in `settings`
(re-exported here, so notebooks keep calling `runtime.check`, `runtime.is_smoke`, `runtime.get_device`)."""
import hashlib
import os
import re
from pathlib import Path
from types import SimpleNamespace

from .datasets import location
from .datasets.catalog import SOURCES
from .datasets.location import DATA_COMMAND, data_root
from .datasets.reading import DataError
from .datasets.sources import pick_source
from .settings import (
    ParameterError,
    check,
    check_common,
    check_ranges,
    describe_device,
    get_device,
    in_range,
    is_smoke,
    or_none,
    seed_everything,
)
from .speed import PRECISIONS as _PRECISIONS
from .speed import precision_line

PRECISIONS = list(_PRECISIONS)  # the choices of a parameters cell's `precision` (ranges=dict(precision=PRECISIONS))

__all__ = ["DATA_COMMAND", "PRECISIONS", "ParameterError", "check", "check_ranges", "checkpoint_dir", "checkpoint_path",
           "data_root", "describe_device", "get_device", "in_range", "is_smoke", "mode_line", "or_none",
           "resolve_sources", "seed_everything", "source_line", "start"]


def checkpoint_dir():
    """Checkpoint folder (checkpoint_path): $COURSE_CHECKPOINT_DIR, else <repo>/checkpoints in a checkout, else
    ./checkpoints beside the notebook (the kernel's working directory) for an installed package."""
    base = location.REPO_ROOT if location.is_checkout() else Path.cwd()
    folder = os.environ.get("COURSE_CHECKPOINT_DIR") or base / "checkpoints"
    return Path(folder).expanduser().resolve()


def mode_line(smoke):
    """Banner line describing the schedule mode."""
    if smoke:
        return "SMOKE (COURSE_SMOKE=1): a tiny schedule that only checks that every cell runs; its numbers mean nothing"
    return "default schedule (the parameters cell names the full schedule of the lecture or project)"


def source_line(dataset, source, root):
    """Banner line naming the data source; loud when it is the synthetic stand-in."""
    if source == "real":
        return f"{dataset}: REAL data from {root}"
    return (f"{dataset}: *** SYNTHETIC STAND-IN *** procedurally generated under {root / 'synthetic'}; "
            f"it imitates the real dataset's layout, not its content. Figures below do not measure the real "
            f"task (import the real data: {DATA_COMMAND} status)")


def resolve_sources(wanted, values, root):
    """Check and resolve each source parameter once: {name: dataset}, {name: value} -> {name: "real"|"synthetic"}.

    An unknown value is a ParameterError naming the parameter; "real" without a usable copy is a DataError that
    names the folder, the import command and the parameter to change (start)."""
    for name in wanted:
        check(values[name] in SOURCES, f"{name} must be one of {', '.join(map(repr, SOURCES))} "
                                       f"(got {values[name]!r}), e.g. {name} = \"auto\"")
    resolved = {}
    for name, dataset in wanted.items():
        try:
            resolved[name] = pick_source(dataset, values[name], root)
        except DataError as error:
            raise DataError(f"{error} (or set {name} = \"synthetic\" in the parameters cell)") from None
    return resolved


def start(title, dataset=None, data_source="auto", seed=0, smoke=None, ranges=None, sources=None, **params):
    """Validate the parameters cell, resolve the data sources, apply smoke overrides, seed, pick the device, print
    the banner.

    `ranges` maps a parameter to its valid values, checked on the student's values before any smoke override:
    `(lo, hi)` a number (an integer when both bounds are integers), `(lo, hi, step)` an integer multiple of
    step, `[a, b, ...]` one of these values, `runtime.or_none(range)` that range or None.
    `sources` names further data-source parameters and their datasets, e.g. `sources=dict(fashion_source=
    "fashion_mnist")`: each is checked like `data_source` and replaced by "real" or "synthetic" in the result.
    """
    params = dict(params, data_source=data_source, seed=seed)
    sources = dict(sources or {})
    unknown = sorted(set(sources) - set(params))
    if unknown:
        raise ValueError(f"sources names parameters that start() was not given: {unknown}")
    check_ranges(params, ranges or {})
    check_common(params)
    root = data_root()
    wanted = {"data_source": dataset, **sources}
    resolved = resolve_sources({k: v for k, v in wanted.items() if v is not None}, params, root)
    if dataset is None:
        check(data_source in SOURCES, f"data_source must be one of {', '.join(map(repr, SOURCES))} "
                                      f"(got {data_source!r}), e.g. data_source = \"auto\"")
    smoke_mode = is_smoke()
    if smoke_mode and smoke:
        params.update(smoke)
    params.update({k: v for k, v in resolved.items() if k != "data_source"})
    generator = seed_everything(seed)
    device = get_device(verbose=False)
    print(f"=== {title} ===")
    for name, source in resolved.items():
        print("data   : " + source_line(wanted[name], source, root))
    print(f"device : {describe_device(device)}")
    print(f"mode   : {mode_line(smoke_mode)}")
    if "precision" in params:
        print(f"precision: {precision_line(params['precision'], device)}")
    print("params : " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
    return SimpleNamespace(**params, device=device, source=resolved.get("data_source"), smoke=smoke_mode, root=root,
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
