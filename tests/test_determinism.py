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
