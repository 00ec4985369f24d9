import pytest
import torch
from torch import nn

from course_utils import training


def _problem(n=256, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=gen)
    y = (X[:, 0] + X[:, 1] > 0).long()
    return X, y


def _setup(seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    return net, torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)


def test_tensor_loader_covers_every_sample_once():
    X = torch.arange(10).float().unsqueeze(1)
    loader = training.TensorLoader(X, torch.arange(10), batch_size=3, seed=1)
    seen = torch.cat([y for _, y in loader])
    assert len(loader) == 4 and sorted(seen.tolist()) == list(range(10))
    assert [b[1].tolist() for b in training.TensorLoader(X, torch.arange(10), 4, shuffle=False)][0] == [0, 1, 2, 3]


def test_tensor_loader_autoencoder_target_is_input():
    X = torch.randn(5, 3)
    Xb, yb = next(iter(training.TensorLoader(X, None, batch_size=5, shuffle=False)))
    assert torch.equal(Xb, yb)


def test_fit_learns_and_records_history():
    X, y = _problem()
    net, opt = _setup()
    loader = training.TensorLoader(X, y, 32)
    history = training.fit(net, loader, nn.CrossEntropyLoss(), opt, 15, "cpu",
                           val_loader=training.TensorLoader(X, y, 64, shuffle=False),
                           metrics={"accuracy": training.accuracy})
    assert len(history["train_loss"]) == 15 and history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_accuracy"][-1] > 0.9
    assert "time=" in training.summary(history)


def test_evaluate_and_predict_agree():
    X, y = _problem(50)
    net, _ = _setup()
    out = training.predict(net, X, batch_size=7)
    result = training.evaluate(net, training.TensorLoader(X, y, 9, shuffle=False), nn.CrossEntropyLoss(), "cpu",
                               {"accuracy": training.accuracy})
    assert out.shape == (50, 2)
    assert abs(result["accuracy"] - training.accuracy(out, y)) < 1e-6
    assert abs(result["loss"] - nn.CrossEntropyLoss()(out, y).item()) < 1e-5


class _Killed(Exception):
    """Stands for a kernel that dies in mid-training."""


def _killed_after(monkeypatch, epochs):
    """Make fit stop with _Killed when it starts epoch `epochs` + 1 (a kernel restart in mid-training)."""
    real, calls = training._train_pass, []

    def train_pass(*args, **kwargs):
        if len(calls) == epochs:
            raise _Killed
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(training, "_train_pass", train_pass)


def test_checkpoint_resume_gives_same_history(tmp_path, monkeypatch, capsys):
    X, y = _problem()
    net, opt = _setup()
    full = training.fit(net, training.TensorLoader(X, y, 32, seed=5), nn.CrossEntropyLoss(), opt, 6, "cpu")
    ckpt = tmp_path / "ckpt.pt"
    net, opt = _setup()
    with monkeypatch.context() as patch, pytest.raises(_Killed):
        _killed_after(patch, 3)
        training.fit(net, training.TensorLoader(X, y, 32, seed=5), nn.CrossEntropyLoss(), opt, 6, "cpu",
                     checkpoint=ckpt, checkpoint_every=1)
    capsys.readouterr()
    net, opt = _setup()  # "kernel restart": the notebook builds the same objects again
    resumed = training.fit(net, training.TensorLoader(X, y, 32, seed=5), nn.CrossEntropyLoss(), opt, 6, "cpu",
                           checkpoint=ckpt)
    assert resumed["train_loss"] == full["train_loss"]
    out = capsys.readouterr().out
    assert f"resumed from {ckpt} after epoch 3 of 6" in out and "delete that file" in out
    assert not list(tmp_path.glob("*.tmp"))


def test_checkpoint_written_atomically_every_n(tmp_path):
    X, y = _problem(64)
    net, opt = _setup()
    ckpt = tmp_path / "sub" / "c.pt"
    training.fit(net, training.TensorLoader(X, y, 32), nn.CrossEntropyLoss(), opt, 2, "cpu",
                 checkpoint=ckpt, checkpoint_every=5)
    state = torch.load(ckpt, weights_only=True)
    assert state["epoch"] == 2 and len(state["history"]["train_loss"]) == 2


def _add_noise(X, y, generator):
    return X + 0.1 * torch.randn(X.shape, generator=generator), y


def _scheduled(net, opt, epochs, steps):
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=epochs * steps)


def test_scheduler_steps_every_batch_and_resumes(tmp_path, monkeypatch):
    X, y = _problem()
    def make_loader():
        return training.AugmentedLoader(training.TensorLoader(X, y, 32, seed=5), _add_noise, seed=3)
    net, opt = _setup()
    sched = _scheduled(net, opt, 6, 8)
    full = training.fit(net, make_loader(), nn.CrossEntropyLoss(), opt, 6, "cpu", scheduler=sched)
    assert sched.last_epoch == 48  # one step per batch, 8 batches x 6 epochs
    ckpt = tmp_path / "ckpt.pt"
    net, opt = _setup()
    with monkeypatch.context() as patch, pytest.raises(_Killed):
        _killed_after(patch, 2)
        training.fit(net, make_loader(), nn.CrossEntropyLoss(), opt, 6, "cpu", checkpoint=ckpt, checkpoint_every=1,
                     scheduler=_scheduled(net, opt, 6, 8))
    net, opt = _setup()  # restart: weights, optimiser, scheduler and both generators from the file
    sched = _scheduled(net, opt, 6, 8)
    resumed = training.fit(net, make_loader(), nn.CrossEntropyLoss(), opt, 6, "cpu", checkpoint=ckpt,
                           scheduler=sched)
    assert resumed["train_loss"] == full["train_loss"] and sched.last_epoch == 48


def test_recalibrate_batchnorm_matches_the_data_statistics():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    X = 3 * torch.randn(120, 4) + 5
    bn = net[1]
    bn.running_mean.fill_(100.0)  # stale statistics, as after fast-changing weights
    training.recalibrate_batchnorm(net, X, "cpu", batch_size=40)
    hidden = net[0](X)
    assert torch.allclose(bn.running_mean, hidden.mean(dim=0), atol=1e-4)
    assert torch.allclose(bn.running_var, hidden.var(dim=0), rtol=0.05)  # mean of 3 batch variances
    assert bn.momentum == 0.1 and not net.training


def test_fit_best_restores_the_best_validation_epoch():
    X, y = _problem()
    net, optimizer = _setup()
    train = training.TensorLoader(X[:200], y[:200], batch_size=32, seed=0)
    val = training.TensorLoader(X[200:], y[200:], batch_size=64, shuffle=False)
    history = training.fit_best(net, train, nn.CrossEntropyLoss(), optimizer, 6, "cpu", val,
                                metrics={"accuracy": training.accuracy}, key="val_accuracy", mode="max")
    assert len(history["train_loss"]) == len(history["val_accuracy"]) == 6
    best = history["best_epoch"]
    assert history["val_accuracy"][best - 1] == max(history["val_accuracy"])
    now = training.evaluate(net, val, nn.CrossEntropyLoss(), "cpu", {"accuracy": training.accuracy})
    assert now["accuracy"] == history["val_accuracy"][best - 1]
    assert now["loss"] == history["val_loss"][best - 1]


def test_fit_best_rejects_an_unknown_mode():
    import pytest
    net, optimizer = _setup()
    with pytest.raises(ValueError, match="mode"):
        training.fit_best(net, [], nn.MSELoss(), optimizer, 1, "cpu", [], mode="best")


def test_count_parameters_of_a_module_or_of_parameters_all_or_trainable():
    net = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2, bias=False))
    assert training.count_parameters(net) == 5 * 3 + 3 + 3 * 2
    net[0].bias.requires_grad_(False)
    assert training.count_parameters(net) == 24  # frozen weights still count by default
    assert training.count_parameters(net, trainable_only=True) == 24 - 3
    assert training.count_parameters(net[2].parameters()) == 6  # any iterable of parameters, e.g. a generator
    assert training.count_parameters([net[0].weight, net[0].bias], trainable_only=True) == 15
    assert training.count_parameters([]) == 0


def test_trainable_parameters_are_the_ones_requiring_gradients_in_order():
    net = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    net[0].weight.requires_grad_(False)
    assert [id(p) for p in training.trainable_parameters(net)] == [id(net[0].bias), id(net[1].weight), id(net[1].bias)]


def test_extend_history_appends_each_curve_and_leaves_the_loader_state_out():
    history = {"train_loss": [3.0, 2.0], "epoch_time": [0.1, 0.1]}
    more = {"train_loss": [1.5], "val_loss": [1.7], "epoch_time": [0.2], "loader_state": ["generator state"]}
    assert training.extend_history(history, more) is history
    assert history == {"train_loss": [3.0, 2.0, 1.5], "epoch_time": [0.1, 0.1, 0.2], "val_loss": [1.7]}
    assert more["train_loss"] == [1.5]  # the further history is left as it was


def test_fit_then_extend_history_equals_one_longer_fit():
    def run(epochs_per_call):
        torch.manual_seed(0)
        net = nn.Linear(3, 2)
        X, y = torch.randn(24, 3), torch.randint(0, 2, (24,))
        loader = training.TensorLoader(X, y, batch_size=8, seed=0)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
        history = {}
        for epochs in epochs_per_call:
            training.extend_history(history, training.fit(net, loader, nn.CrossEntropyLoss(), optimizer, epochs, "cpu"))
        return history
    assert run([2, 1])["train_loss"] == run([3])["train_loss"] and len(run([2, 1])["epoch_time"]) == 3


def test_set_trainable_freezes_and_unfreezes_every_parameter():
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    assert training.set_trainable(net[0], False) is net[0]
    assert training.count_parameters(net, trainable_only=True) == 4 * 2 + 2
    training.set_trainable(net[0])
    assert training.count_parameters(net, trainable_only=True) == 3 * 4 + 4 + 4 * 2 + 2
