"""Checkpoints in whole notebooks (issues 8 and 15): after a complete run with checkpoints on, an unchanged
re-run in a fresh kernel resumes every stage with the same history, and a re-run with an exercise's change
trains that change (and says why) instead of handing back the earlier weights.

Owners of notebooks add their exercise cases with `completed_run` + nbrun.run(..., changes=[...] or then=[...]);
the exercises of 01a and 01b that edit a cell (01a-3, 01b-3) are in tests/test_exercises_nb01.py.
"""
import shutil

import pytest
from nbrun import replaced, run, streams

NB_01A = "01a_fashion_mnist_autoencoder_end_to_end.ipynb"
NB_01B = "01b_fashion_mnist_layerwise_pretraining.ipynb"
SHORT = {"num_epochs": 2, "n_train": 3000, "n_val": 500, "seed": 12345, "checkpoint_every": 1}
SHORT_01B = dict(SHORT, compare_end_to_end=False)


def _lines(text, start):
    return [line for line in text.splitlines() if line.startswith(start)]


def completed_run(tmp_path_factory, name, overrides):
    """Run a notebook to the end with checkpoints on in a fresh checkpoint folder; return (folder, its output)."""
    folder = tmp_path_factory.mktemp("checkpoints")
    with pytest.MonkeyPatch.context() as env:
        _checkpoints_on(env, folder)
        text = streams(run(name, overrides))
    assert "resumed" not in text and list(folder.glob("*.pt"))
    return folder, text


def _checkpoints_on(env, folder):
    for name, value in dict(COURSE_SMOKE="0", COURSE_WIDGETS="0", COURSE_PROGRESS="0", COURSE_CHECKPOINTS="1",
                            COURSE_CHECKPOINT_DIR=str(folder)).items():
        env.setenv(name, value)


@pytest.fixture
def rerun(monkeypatch, tmp_path):
    """Re-run a notebook against a copy of a completed run's checkpoints (each test gets its own copy)."""
    def again(done, name, overrides, **change):
        folder = tmp_path / "checkpoints"
        shutil.copytree(done[0], folder)
        _checkpoints_on(monkeypatch, folder)
        return run(name, overrides, **change)
    return again


@pytest.fixture(scope="module")
def done_01a(tmp_path_factory):
    return completed_run(tmp_path_factory, NB_01A, SHORT)


def test_rerun_resumes_from_checkpoints(done_01a, rerun):
    second = streams(rerun(done_01a, NB_01A, SHORT))
    assert second.count("resumed from") == 2  # autoencoder and classifier stages
    assert "holds another training" not in second
    for start in ("train_loss=", "test accuracy", "output pixels that are 0"):
        assert _lines(second, start) == _lines(done_01a[1], start)  # the restored run is the one trained


def test_01a_exercise_4_denoising_trains(done_01a, rerun):
    noisy_inputs = "(X + 0.2 * torch.randn_like(X)).clamp(0, 1), X"
    noisy = f"train_loader = training.TensorLoader({noisy_inputs}, cfg.batch_size, seed=cfg.seed)"
    clean = "train_loader = training.TensorLoader(X, None, cfg.batch_size, seed=cfg.seed)"
    nb = rerun(done_01a, NB_01A, SHORT, changes=[replaced(clean, noisy)])
    text = streams(nb)
    refused = [line for line in text.splitlines() if "holds another training (" in line]
    assert refused and "training data" in refused[0].split("(", 1)[1]  # parts listed: e.g. "(optimiser, training data"
    assert _lines(text, "train_loss=")[0] != _lines(done_01a[1], "train_loss=")[0]


CLASS_CELL = '''import torch
from torch import nn
from course_utils import training

class TinyNet(nn.Module):
    def __init__(self, hidden=8):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, hidden), nn.Linear(hidden, 2)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))'''
TRAIN_CELL = '''torch.manual_seed(0)
X = torch.randn(64, 4); y = (X[:, 0] > 0).long()
net = TinyNet()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
history = training.fit(net, training.TensorLoader(X, y, 16, seed=0), nn.CrossEntropyLoss(), optimizer, 2, "cpu",
                       checkpoint=CHECKPOINT, checkpoint_every=1)
print("train_loss", history["train_loss"])'''


def _kernel_run(checkpoint, *then):
    """A fresh kernel (a restart) runs the class cell and the training cell, then the cells `then`; returns the
    notebook."""
    import nbformat
    from nbclient import NotebookClient
    from nbrun import ROOT
    nb = nbformat.v4.new_notebook()
    sources = [f"CHECKPOINT = {str(checkpoint)!r}", CLASS_CELL, TRAIN_CELL, *then]
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    return nb


def _printed(nb, start, stop):
    """What cells start .. stop - 1 printed."""
    return "".join(o.get("text", "") for c in nb.cells[start:stop] for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


def test_a_class_defined_in_a_cell_resumes_after_a_restart_and_trains_when_edited(tmp_path):
    ckpt = tmp_path / "tiny.pt"
    first = streams(_kernel_run(ckpt))
    assert "resumed" not in first and ckpt.exists()
    edits = {"forward": ("torch.relu(self.fc1(x))", "torch.tanh(self.fc1(x))"), "layer": ("hidden=8", "hidden=12")}
    assert all(old in CLASS_CELL for old, _ in edits.values())
    then = [cell for old, new in edits.values() for cell in (CLASS_CELL.replace(old, new), TRAIN_CELL)]
    nb = _kernel_run(ckpt, *then)  # after a kernel restart: Run All unchanged, then each edit and its training
    again = _printed(nb, 0, 3)
    assert "resumed from" in again and _lines(again, "train_loss") == _lines(first, "train_loss")
    for i, what in enumerate(edits):
        text = _printed(nb, 3 + 2 * i, 5 + 2 * i)
        why = [line for line in text.splitlines() if "holds another training" in line]
        assert len(why) == 1 and "(model structure" in why[0], (what, text)
        assert "resumed" not in text and _lines(text, "train_loss") != _lines(first, "train_loss")
