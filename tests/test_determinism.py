"""The same seed gives identical results twice on the CPU (issue 8)."""
import torch
from torch import nn

from course_utils import runtime, training


def _seeded_run(seed):
    runtime.seed_everything(seed)
    X = torch.randn(200, 8)
    y = (X[:, :2].sum(1) > 0).long()
    net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 2))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    history = training.fit(net, training.TensorLoader(X, y, 16, seed=seed), nn.CrossEntropyLoss(), opt, 3, "cpu",
                           val_loader=training.TensorLoader(X, y, 50, shuffle=False),
                           metrics={"accuracy": training.accuracy})
    return history["train_loss"], history["val_accuracy"], [p.detach().clone() for p in net.parameters()]


def test_same_seed_same_history_and_weights():
    loss_a, acc_a, w_a = _seeded_run(7)
    loss_b, acc_b, w_b = _seeded_run(7)
    assert loss_a == loss_b and acc_a == acc_b
    assert all(torch.equal(a, b) for a, b in zip(w_a, w_b))


def test_other_seed_other_history():
    assert _seeded_run(7)[0] != _seeded_run(8)[0]


def _conv_stage(ckpt=None, epochs=4):
    """A short convolutional schedule as 03 trains it: BatchNorm, dropout, flips, validation, OneCycleLR."""
    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.Dropout2d(0.2),
                        nn.Conv2d(6, 2, 3, padding=1))
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(24, 3, 8, 8, generator=gen)
    y = (X[:, 0] > X[:, 2]).long()
    flips = training.AugmentedLoader(training.TensorLoader(X, y, 6, seed=1),
                                     lambda X, y, g: (X.flip(3), y.flip(2)) if torch.rand(1, generator=g) < 0.5
                                     else (X, y), seed=2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-2, total_steps=epochs * len(flips))
    history = training.fit(net, flips, nn.CrossEntropyLoss(), opt, epochs, "cpu",
                           val_loader=training.TensorLoader(X, y, 12, shuffle=False), checkpoint=ckpt,
                           checkpoint_every=1, scheduler=sched)
    return {k: v for k, v in history.items() if k not in ("epoch_time", "loader_state")}, net.state_dict()


def test_fresh_and_resumed_short_schedules_give_identical_histories_and_weights(tmp_path, monkeypatch):
    fresh, fresh_weights = _conv_stage()
    ckpt = tmp_path / "stage.pt"
    real, calls = training._train_pass, []

    def dies_after_two(*args, **kwargs):  # the kernel dies in epoch 3
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(training, "_train_pass", dies_after_two)
        try:
            _conv_stage(ckpt)
        except KeyboardInterrupt:
            pass
    assert training.read_checkpoint(ckpt)["epoch"] == 2
    resumed, resumed_weights = _conv_stage(ckpt)  # a restarted kernel runs the same cells
    assert resumed == fresh
    assert all(torch.equal(resumed_weights[k], fresh_weights[k]) for k in fresh_weights)
