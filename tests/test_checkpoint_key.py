"""A checkpoint resumes only the same training: every change an exercise asks for trains afresh (issue 15).

Each test trains a stage to the end with checkpoints on, then applies one change the way a student would
(a new cell after the complete run: rebuild, edit an attribute, another optimiser ...) and re-runs the stage
with the same checkpoint file. The changed run must train (one line says why) and give another result; the
unchanged re-run must resume and give the identical history.
"""
import pytest
import torch
from torch import nn

from course_utils import fingerprint, losses, training

EPOCHS = 3


def _sgd(net, lr, momentum=0.9):
    """SGD with momentum over the trainable parameters, as the notebooks build it."""
    return torch.optim.SGD(training.trainable_parameters(net), lr=lr, momentum=momentum)


def _data(n=192, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 16, generator=gen)
    return X, (X[:, :8].sum(1) > X[:, 8:].sum(1)).long()


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 2), nn.LogSoftmax(dim=1))


class Stage:
    """One training stage as a notebook writes it: build, optimiser, loader, fit (with checkpoint)."""

    def __init__(self, ckpt):
        self.ckpt = ckpt
        self.X, self.y = _data()
        self.net = _net()
        self.loss = nn.NLLLoss()
        self.epochs = EPOCHS
        self.scheduler = None
        self.optimizer = _sgd(self.net, 0.2, momentum=0.9)

    def loader(self):
        return training.TensorLoader(self.X, self.y, 32, seed=1)

    def fit(self, loader=None):
        return training.fit(self.net, loader or self.loader(), self.loss, self.optimizer, self.epochs, "cpu",
                            checkpoint=self.ckpt, checkpoint_every=1, scheduler=self.scheduler)


@pytest.fixture
def done(tmp_path, capsys):
    """A stage trained to the end with checkpoints on, and its history."""
    ckpt = tmp_path / "stage.pt"
    history = Stage(ckpt).fit()
    assert "resumed" not in capsys.readouterr().out and ckpt.exists()
    return ckpt, history


def _retrain(stage, capsys, part, loader=None):
    history = stage.fit(loader)
    out = capsys.readouterr().out
    assert "resumed" not in out, "a changed training was resumed from the checkpoint"
    assert f"holds another training ({part}" in out or f", {part}" in out, out
    return history


def test_unchanged_rerun_resumes_the_same_history(done, capsys):
    ckpt, history = done
    again = Stage(ckpt)  # "Run All" again, or a kernel restart: the same cells build the same objects
    before = [p.detach().clone() for p in again.net.parameters()]
    assert again.fit()["train_loss"] == history["train_loss"]
    out = capsys.readouterr().out
    assert f"resumed from {ckpt} after epoch {EPOCHS} of {EPOCHS}" in out and "to start over" in out
    # the trained weights are back
    assert any(not torch.equal(a, b) for a, b in zip(before, again.net.parameters(), strict=True))


def test_changed_layer_trains(done, capsys):  # 01a exercise 3: net.decoder[3] = nn.Identity()
    ckpt, history = done
    stage = Stage(ckpt)
    stage.net[1] = nn.Identity()
    assert _retrain(stage, capsys, "model structure")["train_loss"] != history["train_loss"]


def test_other_starting_weights_train(done, capsys):  # 01a exercise 2: a random encoder instead of the trained one
    ckpt, history = done
    stage = Stage(ckpt)
    torch.manual_seed(7)
    stage.net = nn.Sequential(nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 2), nn.LogSoftmax(dim=1))
    stage.optimizer = _sgd(stage.net, 0.2)
    assert _retrain(stage, capsys, "starting weights")["train_loss"] != history["train_loss"]


def test_frozen_layer_trains(done, capsys):  # 01b exercise 3: set_trainable(encoder, False)
    ckpt, history = done
    stage = Stage(ckpt)
    training.set_trainable(stage.net[0], False)
    stage.optimizer = _sgd(stage.net, 0.2, momentum=0.9)  # fewer tensors: loading would fail on size
    assert _retrain(stage, capsys, "trainable parameters")["train_loss"] != history["train_loss"]


def test_stage1_optimiser_for_stage2_trains(done, capsys):  # 01b exercise 2: an optimiser over other parameters
    ckpt, history = done
    stage = Stage(ckpt)
    stage.optimizer = torch.optim.SGD(stage.net[0].parameters(), lr=0.2, momentum=0.9)
    assert _retrain(stage, capsys, "optimiser")["train_loss"] != history["train_loss"]


def test_adam_trains(done, capsys):  # 04 exercise 1: torch.optim.Adam(net.parameters(), lr=1e-4)
    ckpt, history = done
    stage = Stage(ckpt)
    stage.optimizer = torch.optim.Adam(stage.net.parameters(), lr=1e-2)
    assert _retrain(stage, capsys, "optimiser")["train_loss"] != history["train_loss"]


def test_changed_learning_rate_attribute_trains(done, capsys):  # an edited hyper-parameter in a later cell
    ckpt, history = done
    stage = Stage(ckpt)
    stage.optimizer.param_groups[0]["lr"] = 0.05
    assert _retrain(stage, capsys, "optimiser")["train_loss"] != history["train_loss"]


def test_class_weights_train(done, capsys):  # 03 exercise 3: LogSoftmaxNLLLoss(class_weights(y))
    ckpt, history = done
    stage = Stage(ckpt)
    stage.loss = losses.LogSoftmaxNLLLoss(torch.tensor([1.0, 3.0]))
    assert _retrain(stage, capsys, "loss")["train_loss"] != history["train_loss"]


def test_edited_loss_function_trains(done, capsys):  # 05 exercise 4: another loss written in a cell
    ckpt, history = done
    stage = Stage(ckpt)

    def loss(output, y):
        return nn.functional.nll_loss(output, y) + 0.5 * output.exp().pow(2).mean()
    stage.loss = loss
    assert _retrain(stage, capsys, "loss")["train_loss"] != history["train_loss"]


def test_noisy_inputs_train(done, capsys):  # 01a exercise 4: denoising, noisy inputs and clean targets
    ckpt, history = done
    stage = Stage(ckpt)
    stage.X = (stage.X + 0.2 * torch.randn_like(stage.X)).clamp(0, 1)
    assert _retrain(stage, capsys, "training data")["train_loss"] != history["train_loss"]


def test_step_scheduler_trains(done, capsys):  # 02 exercise 2: a learning-rate scheduler
    ckpt, history = done
    stage = Stage(ckpt)
    stage.scheduler = torch.optim.lr_scheduler.StepLR(stage.optimizer, step_size=2, gamma=0.5)
    assert _retrain(stage, capsys, "schedule")["train_loss"] != history["train_loss"]


def test_longer_schedule_trains(done, capsys):  # 01a/01b exercise 1: another number of epochs
    ckpt, history = done
    stage = Stage(ckpt)
    stage.epochs = EPOCHS + 2
    assert len(_retrain(stage, capsys, "schedule")["train_loss"]) == EPOCHS + 2


def test_rerun_of_the_training_cell_continues_from_the_trained_weights(done, capsys):
    ckpt, history = done  # re-running only the fit cell: the weights it starts from are the trained ones
    stage = Stage(ckpt)
    stage.fit()
    capsys.readouterr()
    more = _retrain(stage, capsys, "starting weights")
    assert more["train_loss"][0] < history["train_loss"][0]


def test_checkpoint_without_key_trains(done, capsys):  # files written before keys existed
    ckpt, _ = done
    state = torch.load(ckpt, weights_only=True)
    state.pop("key")
    torch.save(state, ckpt)
    Stage(ckpt).fit()
    assert "older version" in capsys.readouterr().out


def test_key_ignores_the_device_and_loader_progress_is_part_of_it():
    X, y = _data()
    net, loader = _net(), training.TensorLoader(X, y, 32, seed=1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    key = fingerprint.training_key(net, loader, nn.NLLLoss(), opt, 2)
    assert key == fingerprint.training_key(_net(), training.TensorLoader(X, y, 32, seed=1), nn.NLLLoss(), opt, 2)
    list(loader)  # one epoch drawn: the next batches come in another order
    assert fingerprint.training_key(net, loader, nn.NLLLoss(), opt, 2)["data"] != key["data"]
    assert set(key) == set(fingerprint.PARTS) - {"precision"}  # fp32 keys: as before precision existed
    assert set(fingerprint.training_key(net, loader, nn.NLLLoss(), opt, 2, precision="bfloat16")) == \
        set(fingerprint.PARTS)


KEY_IN_A_NEW_PROCESS = """
import torch
from torch import nn
from course_utils import fingerprint, training
torch.manual_seed(0)
net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
loader = training.TensorLoader(torch.rand(8, 4), torch.zeros(8, dtype=torch.long), 4, seed=0)
print(fingerprint.training_key(net, loader, nn.CrossEntropyLoss(), optimizer, 2))
"""


def test_key_is_the_same_in_every_process():
    # a kernel restart must find its checkpoint: string hashing (set order) differs from process to process
    import os
    import subprocess
    import sys
    keys = {subprocess.run([sys.executable, "-c", KEY_IN_A_NEW_PROCESS], capture_output=True, text=True, check=True,
                           env=dict(os.environ, PYTHONHASHSEED=str(seed))).stdout for seed in range(6)}
    assert len(keys) == 1, keys
