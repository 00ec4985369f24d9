"""Training loops shared by the notebooks: in-memory batches, fit with progress and history, checkpoints.

Convolutional networks run in the channels_last memory format (speed.prepare_for_device); `precision` picks
fp32 or bf16 / mixed-precision autocast (speed.resolve_precision); on Linux, fit keeps freed memory for the next
batch (speed.keep_freed_memory).
"""
import copy
import os
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import checkpoints
from .devices import place
from .fingerprint import changed_parts, training_key
from .settings import is_smoke
from .speed import PRECISIONS, as_input, keep_freed_memory, prepare_for_device, resolve_precision  # noqa: F401
from .speed import autocast as _autocast
from .speed import plain as _plain
from .speed import scaler as _scaler


class TensorLoader:
    """Batches of in-memory tensors by slicing (no per-item collate); every training notebook."""

    def __init__(self, X, y=None, batch_size=64, shuffle=True, seed=0):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
        self.X, self.y, self.batch_size, self.shuffle = X, y, batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        return (len(self.X) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.X)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for i in range(0, n, self.batch_size):
            idx = order[i:i + self.batch_size]
            yield (self.X[idx], self.y[idx]) if self.y is not None else (self.X[idx], self.X[idx])


class AugmentedLoader:
    """Wraps a loader of (X, y) batches and applies `augment(X, y, generator)` afresh every epoch (03, 04).

    Its generator, and the wrapped loader's in `.loader`, are saved with fit's checkpoints, so a resumed run
    sees the same augmented batches.
    """

    def __init__(self, loader, augment, seed=0):
        self.loader, self.augment = loader, augment
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for X, y in self.loader:
            yield self.augment(X, y, self.generator)


def _place_loss(loss_fn, device):
    """A loss that is a module (class weights as buffers, e.g. losses.LogSoftmaxNLLLoss) follows the model's device."""
    if isinstance(loss_fn, torch.nn.Module):
        place(loss_fn, device, "loss")


def set_trainable(module, trainable=True):
    """Freeze (`trainable=False`) or unfreeze every parameter of a module and return the module (01b, 04, 05)."""
    for p in module.parameters():
        p.requires_grad_(trainable)
    return module


def trainable_parameters(net):
    """The parameters of `net` that require gradients: what an optimiser should update (01b stages, 04 training)."""
    return [p for p in net.parameters() if p.requires_grad]


def count_parameters(params, trainable_only=False):
    """Number of scalar parameters of a module or of an iterable of parameters, optionally only the trainable
    ones (the model printouts of every notebook)."""
    if isinstance(params, torch.nn.Module):
        params = params.parameters()
    return sum(p.numel() for p in params if p.requires_grad or not trainable_only)


def accuracy(output, y):
    """Share of rows whose arg-max matches the label (classifier sections)."""
    return (output.argmax(dim=1) == y).float().mean().item()


def _progress(iterable, desc, total=None):
    """tqdm.auto bar: widget in JupyterLab, text in a terminal; silent in smoke mode (CI), and for headless
    runs that store outputs (COURSE_PROGRESS=0, set by scripts/run_notebooks.py)."""
    quiet = is_smoke() or os.environ.get("COURSE_PROGRESS", "1") == "0"
    return tqdm(iterable, desc=desc, total=total, leave=False, disable=quiet)


def train_epoch(net, loader, loss_fn, optimizer, device, desc="train", scheduler=None, precision="fp32"):
    """One pass over the loader (scheduler, if any, stepped after every batch); returns the mean loss."""
    prepare_for_device(net, device, _first_inputs(loader), "train_epoch")
    _place_loss(loss_fn, device)
    dtype = resolve_precision(precision, device)
    return _train_pass(net, loader, loss_fn, optimizer, device, desc, scheduler, dtype, _scaler(device, dtype))


def _train_pass(net, loader, loss_fn, optimizer, device, desc, scheduler, dtype, scaler):
    """train_epoch's loop, with net and loss already on the device (fit places them once per call)."""
    net.train()
    total, count = 0.0, 0
    for X, y in _progress(loader, desc, total=len(loader)):
        X, y = as_input(X, net, device), y.to(device)
        optimizer.zero_grad()
        with _autocast(device, dtype):
            loss = loss_fn(_plain(net(X)), y)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(X)
        count += len(X)
    return total / max(count, 1)


@torch.no_grad()
def evaluate(net, loader, loss_fn, device, metrics=None, precision="fp32"):
    """Mean loss and metrics (name -> fn(output, y)) over a loader, in eval mode, with net moved to device."""
    prepare_for_device(net, device, _first_inputs(loader), "evaluate")
    _place_loss(loss_fn, device)
    return _eval_pass(net, loader, loss_fn, device, metrics, resolve_precision(precision, device))


@torch.no_grad()
def _eval_pass(net, loader, loss_fn, device, metrics, dtype):
    """evaluate's loop, with net and loss already on the device."""
    net.eval()
    sums, count = {}, 0
    for X, y in loader:
        X, y = as_input(X, net, device), y.to(device)
        with _autocast(device, dtype):
            output = _plain(net(X))
        values = {"loss": loss_fn(output, y).item()}
        values.update({name: fn(output, y) for name, fn in (metrics or {}).items()})
        for name, value in values.items():
            sums[name] = sums.get(name, 0.0) + value * len(X)
        count += len(X)
    return {name: total / max(count, 1) for name, total in sums.items()}


def _first_inputs(loader):
    """The input batch a loader of in-memory tensors starts with, without drawing a random number (else None)."""
    X = getattr(loader, "X", None)
    return X[:2] if isinstance(X, torch.Tensor) else None


@torch.no_grad()
def predict(net, X, batch_size=256, device="cpu", precision="fp32"):
    """Network outputs for a tensor, batched on `device` (net moved there), returned on the CPU (evaluation)."""
    prepare_for_device(net, device, X[:2] if len(X) else None, "predict")
    net.eval()
    dtype = resolve_precision(precision, device)
    outputs = []
    for i in range(0, len(X), batch_size):
        with _autocast(device, dtype):
            outputs.append(_plain(net(as_input(X[i:i + batch_size], net, device))).cpu())
    return torch.cat(outputs) if outputs else torch.empty(0)


@torch.no_grad()
def recalibrate_batchnorm(net, X, device, batch_size=50):
    """Recompute every BatchNorm's running mean/variance as plain averages over X with the final weights (04)."""
    prepare_for_device(net, device, X[:2], "recalibrate_batchnorm")
    layers = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average instead of an exponential one
    net.train()
    for i in range(0, len(X), batch_size):
        net(as_input(X[i:i + batch_size], net, device))
    for m, momentum in zip(layers, saved, strict=True):
        m.momentum = momentum
    net.eval()


def save_checkpoint(path, net, optimizer, epoch, history, scheduler=None, key=None):
    """Write model, optimiser, scheduler, epoch, history and training key atomically (checkpoints.save)."""
    state = {"model": net.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
             "history": history, "rng": torch.get_rng_state(),
             "scheduler": None if scheduler is None else scheduler.state_dict(), "key": key}
    checkpoints.save(path, state)


def read_checkpoint(path):
    """The saved state of a checkpoint file (on the CPU); checkpoints.UnreadableCheckpoint says what is wrong."""
    return checkpoints.read(path)


def load_checkpoint(path, net, optimizer, scheduler=None, state=None):
    """Restore a checkpoint written by save_checkpoint (or its already read `state`); returns (epoch, history)."""
    state = read_checkpoint(path) if state is None else state
    net.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    return state["epoch"], state["history"]


def _generators(loader):
    """Random generators of a loader and of the loaders it wraps (augmenting wrappers keep theirs in .loader)."""
    found = []
    while loader is not None:
        if isinstance(getattr(loader, "generator", None), torch.Generator):
            found.append(loader.generator)
        loader = getattr(loader, "loader", None)
    return found


def fit(net, train_loader, loss_fn, optimizer, num_epochs, device, val_loader=None, metrics=None,
        checkpoint=None, checkpoint_every=0, desc="train", scheduler=None, precision="fp32"):
    """Train for num_epochs on `device` (net moved there), return the per-epoch history.

    `checkpoint` (a path, e.g. runtime.checkpoint_path) resumes only the same training: fit computes a key of
    the model, its starting weights, the trainable set, optimiser, loss, data and schedule when it starts, and a
    file with another key is replaced by a fresh run. `scheduler` is a per-batch learning-rate scheduler (e.g.
    OneCycleLR over num_epochs * len(train_loader) steps). `precision`: "fp32" (default), "bf16" (autocast) or
    "auto" (bf16 only where the CPU runs it natively; mixed precision on CUDA/MPS).
    """
    dtype = resolve_precision(precision, device)
    keep_freed_memory()  # no page faults per batch on Linux (speed.keep_freed_memory)
    prepare_for_device(net, device, _first_inputs(train_loader), "fit")
    _place_loss(loss_fn, device)
    scaler = _scaler(device, dtype)
    history, first = {"train_loss": [], "epoch_time": []}, 0
    key = None
    if checkpoint is not None:
        key = training_key(net, train_loader, loss_fn, optimizer, num_epochs, scheduler, val_loader, metrics,
                           None if dtype is None else str(dtype).removeprefix("torch."))
        resumed = _resume(checkpoint, key, net, optimizer, scheduler, num_epochs)
        if resumed is not None:
            first, history = resumed
            _restore_loader(train_loader, history)
    bar = _progress(range(first, num_epochs), desc, total=num_epochs - first)
    for epoch in bar:
        start = time.perf_counter()
        history["train_loss"].append(_train_pass(net, train_loader, loss_fn, optimizer, device, desc, scheduler,
                                                 dtype, scaler))
        if val_loader is not None:
            for name, value in _eval_pass(net, val_loader, loss_fn, device, metrics, dtype).items():
                history.setdefault(f"val_{name}", []).append(value)
        history["epoch_time"].append(time.perf_counter() - start)
        _remember_loader(train_loader, history)
        if checkpoint is not None and (epoch + 1 == num_epochs or
                                       (checkpoint_every and (epoch + 1) % checkpoint_every == 0)):
            save_checkpoint(checkpoint, net, optimizer, epoch + 1, history, scheduler, key)
    return history


def _resume(path, key, net, optimizer, scheduler, num_epochs):
    """(epoch, history) from `path` when it holds the training `key`, else None; one line says which (fit)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = read_checkpoint(path)
    except checkpoints.UnreadableCheckpoint as error:
        try:
            where = f"set aside as {checkpoints.set_aside(path).name}"
        except OSError as failure:
            where = f"left in place (renaming it failed: {failure.strerror or failure}); it will be overwritten"
        print(f"checkpoint {path} cannot be resumed: {error}; {where}, training this stage from scratch")
        return None
    changed = changed_parts(state.get("key"), key)
    if changed:
        print(f"checkpoint {path.name} holds another training ({', '.join(changed)} changed): "
              f"training from scratch, the file will be replaced")
        return None
    epoch, history = load_checkpoint(path, net, optimizer, scheduler, state)
    print(f"resumed from {path} after epoch {epoch} of {num_epochs} (same model, starting weights, data, "
          f"optimiser, loss and schedule); to start over, delete that file or set checkpoint_every = 0")
    return epoch, history


def extend_history(history, more):
    """Append the curves of a further fit's history `more` to `history` (loader states left out); returns it
    (fit_best; 05, training a run on)."""
    for name, values in more.items():
        if name != "loader_state":
            history.setdefault(name, []).extend(values)
    return history


def fit_best(net, train_loader, loss_fn, optimizer, num_epochs, device, val_loader, metrics=None,
             key="val_loss", mode="min", desc="train", precision="fp32"):
    """fit with a validation pass after every epoch; ends with the weights of the best epoch by `key` (05).

    history["best_epoch"] says which epoch that was (1-based): the epoch count is chosen on validation data.
    """
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max' (got {mode!r})")
    history, best, best_state = {}, None, None
    for epoch in range(num_epochs):
        step = fit(net, train_loader, loss_fn, optimizer, 1, device, val_loader=val_loader, metrics=metrics,
                   desc=f"{desc}, epoch {epoch + 1}", precision=precision)
        extend_history(history, step)
        value = history[key][-1]
        if best is None or (value < best if mode == "min" else value > best):
            best, best_state, history["best_epoch"] = value, copy.deepcopy(net.state_dict()), epoch + 1
    if best_state is not None:
        net.load_state_dict(best_state)
    return history


def _remember_loader(loader, history):
    """Keep the loader's shuffling/augmentation states in the history so a resumed run sees the same batches."""
    states = [g.get_state() for g in _generators(loader)]
    if states:
        history["loader_state"] = states


def _restore_loader(loader, history):
    """Put back the states saved by _remember_loader (fit, on resume)."""
    for generator, state in zip(_generators(loader), history.get("loader_state", [])):
        generator.set_state(state)


def summary(history, keys=("train_loss", "val_loss", "val_accuracy")):
    """One line with the last value of each tracked curve (printed after each training section)."""
    parts = [f"{k}={history[k][-1]:.4f}" for k in keys if history.get(k)]
    parts.append(f"time={sum(history.get('epoch_time', [])):.1f}s")
    return ", ".join(parts)
