"""What a training run is: digests of model, weights, trainable set, optimiser, loss, data and schedule.

`training.fit` computes `training_key(...)` when it starts and stores it with its checkpoints; a checkpoint
resumes only a run with the same key, so an edited cell, a changed attribute or a new optimiser always trains.
Nothing here trains, reads files or plots.
"""
import hashlib
import types

import numpy as np
import torch
from torch import nn

SAMPLE = 1 << 16  # elements hashed from a data tensor (evenly strided), besides its shape, dtype and sum
PARTS = {"model": "model structure", "weights": "starting weights", "trainable": "trainable parameters",
         "optimizer": "optimiser", "loss": "loss", "data": "training data", "validation": "validation data",
         "schedule": "schedule", "precision": "precision"}  # precision: only in keys of bf16/fp16 runs


def _sha(*chunks):
    h = hashlib.sha1()
    for chunk in chunks:
        h.update(chunk if isinstance(chunk, bytes) else repr(chunk).encode())
    return h.hexdigest()[:12]


def _tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.float()
    return t.numpy().tobytes() if t.dtype != torch.bool else t.to(torch.uint8).numpy().tobytes()


def tensor_digest(t, full=False):
    """Shape, dtype and a hash of a tensor: every element (`full`) or an evenly strided sample plus the sum."""
    t = torch.as_tensor(t).detach()
    if full or t.numel() <= SAMPLE:
        return (tuple(t.shape), str(t.dtype), _sha(_tensor_bytes(t)))
    flat = t.reshape(-1)
    sample = flat[:: max(1, flat.numel() // SAMPLE)]
    total = 0.0 if t.is_complex() else flat.double().sum().item()
    return (tuple(t.shape), str(t.dtype), _sha(_tensor_bytes(sample)), repr(total))


def _constant(c, depth=0):
    """A code constant as text that is the same in every process: nested code by its own digest, set constants
    sorted (their repr follows the process's string hashing, e.g. `x in {"cuda", "xpu"}` in torch.optim)."""
    if isinstance(c, types.CodeType):
        return _code(c, depth + 1)
    if isinstance(c, frozenset):
        return ("frozenset", sorted(repr(_constant(x, depth)) for x in c))
    if isinstance(c, tuple):
        return tuple(_constant(x, depth) for x in c)
    return repr(c)


def _code(code, depth=0):
    """Bytecode, names and constants of a code object, nested code included (functions' `describe`)."""
    return (code.co_name, _sha(code.co_code), code.co_names, tuple(_constant(c, depth) for c in code.co_consts))


def _function(fn, depth, seen):
    """A function by its code, defaults, closure values and the plain functions it calls by global name."""
    code = fn.__code__
    closure = [describe(cell.cell_contents, depth + 1, seen) for cell in (fn.__closure__ or ())
               if _has_contents(cell)]
    called = [(name, describe(fn.__globals__[name], depth + 1, seen)) for name in code.co_names
              if isinstance(fn.__globals__.get(name), types.FunctionType)]
    return ("function", fn.__qualname__, _code(code), describe(fn.__defaults__, depth + 1, seen),
            describe(fn.__kwdefaults__, depth + 1, seen), closure, called)


def _has_contents(cell):
    """True when a closure cell is filled (reading an empty one raises ValueError)."""
    try:
        _ = cell.cell_contents
    except ValueError:
        return False
    return True


def class_code(cls):
    """Code of the methods a class (and its bases up to nn.Module / object) defines (model structure)."""
    parts = []
    for klass in cls.__mro__:
        if klass in (nn.Module, object) or klass.__module__.startswith("torch.nn"):
            continue
        methods = sorted((name, _code(f.__code__)) for name, f in vars(klass).items()
                         if isinstance(f, types.FunctionType))
        parts.append((klass.__qualname__, methods))
    return (cls.__module__, cls.__qualname__, parts)


def _module(m, depth, seen):
    """A module by its class code, its printed structure, its tensors and its plain public attributes."""
    attributes = {k: v for k, v in vars(m).items() if not k.startswith("_") and k != "training"}
    return ("module", class_code(type(m)), repr(m), describe(m.state_dict(), depth + 1, seen),
            describe(attributes, depth + 1, seen))


def describe(obj, depth=0, seen=None):
    """A canonical, address-free description of a value (tensors hashed) whose repr can be digested."""
    seen = set() if seen is None else seen
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        return obj
    if isinstance(obj, torch.Tensor):
        return ("tensor",) + tensor_digest(obj)
    if isinstance(obj, np.ndarray):
        return ("array",) + tensor_digest(torch.from_numpy(np.ascontiguousarray(obj)))
    if isinstance(obj, (torch.dtype, torch.device)):
        return str(obj)
    if isinstance(obj, torch.Generator):
        return ("generator", _sha(_tensor_bytes(obj.get_state())))
    if depth > 6 or id(obj) in seen:
        return ("...", type(obj).__qualname__)
    seen = seen | {id(obj)}
    if isinstance(obj, dict):
        return ("dict", sorted((repr(k), describe(v, depth + 1, seen)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [describe(v, depth + 1, seen) for v in obj])
    if isinstance(obj, (set, frozenset)):
        return ("set", sorted(repr(describe(v, depth + 1, seen)) for v in obj))
    if isinstance(obj, nn.Module):
        return _module(obj, depth, seen)
    if isinstance(obj, types.FunctionType):
        return _function(obj, depth, seen)
    if isinstance(obj, types.MethodType):
        return ("method", describe(obj.__func__, depth + 1, seen), type(obj.__self__).__qualname__)
    if isinstance(obj, type):
        return ("class", class_code(obj))
    if callable(obj) and not hasattr(obj, "__dict__"):
        return ("callable", getattr(obj, "__module__", None), getattr(obj, "__qualname__", type(obj).__qualname__))
    if hasattr(obj, "__dict__"):
        return ("object", class_code(type(obj)), describe(vars(obj), depth + 1, seen))
    return ("value", type(obj).__qualname__, repr(obj))


def model_structure(net):
    """Printed layers, the code of every module class in it, and parameter/buffer names, shapes and dtypes."""
    classes = sorted({repr(class_code(type(m))) for m in net.modules()})
    shapes = [(name, tuple(t.shape), str(t.dtype)) for name, t in net.state_dict().items()]
    return (repr(net), classes, shapes)


def weights_digest(net):
    """Hash of every parameter and buffer value (the weights a training starts from)."""
    return [(name, tensor_digest(t, full=True)) for name, t in net.state_dict().items()]


def optimizer_digest(optimizer):
    """Optimiser class, hyper-parameters of each group (parameters by position) and its state tensors."""
    state = optimizer.state_dict()
    return (class_code(type(optimizer)), describe(state["param_groups"]),
            [(k, describe(v)) for k, v in sorted(state["state"].items())])


def _peek(loader):
    """The first batch of a loader that keeps its tensors out of sight, with every random state put back."""
    saved_cpu = torch.get_rng_state()
    generators = []
    walk = loader
    while walk is not None:
        if isinstance(getattr(walk, "generator", None), torch.Generator):
            generators.append((walk.generator, walk.generator.get_state()))
        walk = getattr(walk, "loader", None)
    try:
        return next(iter(loader), None)
    finally:
        torch.set_rng_state(saved_cpu)
        for generator, state in generators:
            generator.set_state(state)


def _has_tensor(description):
    text = repr(description)
    return "'tensor'" in text or "'array'" in text


def data_digest(loader):
    """The loader's own tensors, settings and random states; its first batch when it holds no tensor."""
    if loader is None:
        return None
    description = describe(loader)
    if not _has_tensor(description):
        description = (description, describe(_peek(loader)))
    return description


def training_key(net, train_loader, loss_fn, optimizer, num_epochs, scheduler=None, val_loader=None,
                 metrics=None, precision=None):
    """One short digest per part of a training (names in PARTS); fit resumes only when all of them match.

    `precision` (the autocast dtype's name, e.g. "bfloat16") is a part only when given: fp32 keys stay as before.
    """
    parts = {
        "model": model_structure(net),
        "weights": weights_digest(net),
        "trainable": [name for name, p in net.named_parameters() if p.requires_grad],
        "optimizer": optimizer_digest(optimizer),
        "loss": describe(loss_fn),
        "data": data_digest(train_loader),
        "validation": (data_digest(val_loader), describe(metrics)),
        "schedule": (num_epochs, None if scheduler is None else
                     (class_code(type(scheduler)), describe(scheduler.state_dict()))),
    }
    if precision is not None:
        parts["precision"] = precision
    return {name: _sha(value) for name, value in parts.items()}


def changed_parts(stored, key):
    """Readable names of the parts in which two keys differ (all of them when `stored` is not a key)."""
    if not isinstance(stored, dict):
        return ["written by an older version of the course code"]
    names = list(key) + [name for name in stored if name not in key]  # a part only one of them has differs too
    return [PARTS.get(name, name) for name in names if stored.get(name) != key.get(name)]
