"""Notebook 05's lesson classes (saved from its cells into course_utils.lessons) and its exercises' self-checks:
each check passes on the state the solution leaves and says "not yet" on the untouched notebook's state."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils import lessons
from course_utils.checks import nb05


class TiedLinearAutoencoder(nn.Module):
    """The solution's exercise 1: the decoder reuses the encoder's weight, transposed."""

    def __init__(self, n_in=784, k=32):
        super().__init__()
        self.encoder = nn.Linear(n_in, k)
        self.decoder_bias = nn.Parameter(torch.zeros(n_in))

    def forward(self, x):
        return F.linear(self.encoder(x), self.encoder.weight.T, self.decoder_bias)


def sgd_steps(net, X, Y, lr, steps):
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    for _ in range(steps):
        optimizer.zero_grad()
        F.mse_loss(net(X), Y).backward()
        optimizer.step()


def test_linear_autoencoder_is_linear():
    torch.manual_seed(0)
    net = lessons.LinearAutoencoder(12, 3)
    x, y = torch.randn(1, 12), torch.randn(1, 12)
    zero = net(torch.zeros(1, 12))
    assert torch.allclose(net(x + y) - zero, (net(x) - zero) + (net(y) - zero), atol=1e-5)
    assert net.encoder.out_features == 3


def test_linear_autoencoder_learns_a_low_rank_signal():
    torch.manual_seed(0)
    X = torch.randn(64, 2) @ torch.randn(2, 10)
    net = lessons.LinearAutoencoder(10, 2)
    start = F.mse_loss(net(X), X).item()
    sgd_steps(net, X, X, lr=0.02, steps=60)
    assert F.mse_loss(net(X), X).item() < 0.05 * start


@pytest.mark.parametrize("code, channels, size", [(8, 1, 28), (32, 3, 16)])
def test_conv_autoencoder_shapes_and_range(code, channels, size):
    net = lessons.ConvAutoencoder(code=code, in_channels=channels, image_size=size, width=4)
    X = torch.rand(2, channels, size, size)
    assert net.encoder(X).shape == (2, code)
    out = net(X)
    assert out.shape == X.shape and out.min() >= 0 and out.max() <= 1


def test_conv_autoencoder_rejects_bad_size():
    with pytest.raises(ValueError, match="divisible by 4"):
        lessons.ConvAutoencoder(code=4, image_size=30)


def test_code_classifier_gives_log_probabilities_over_the_code():
    torch.manual_seed(0)
    net = lessons.CodeClassifier(lessons.ConvAutoencoder(code=6).encoder, 6, num_classes=4)
    out = net(torch.rand(3, 1, 28, 28))
    assert out.shape == (3, 4)
    assert torch.allclose(out.exp().sum(dim=1), torch.ones(3), atol=1e-5)


def run_check(check, *args, capsys):
    done = check(*args)
    return done, capsys.readouterr().out


def test_exercise_1_check(capsys):
    done, out = run_check(nb05.exercise_1, lessons.LinearAutoencoder(784, 32), 32, capsys=capsys)
    assert not done and "NOT YET" in out and "hint" in out
    done, out = run_check(nb05.exercise_1, TiedLinearAutoencoder(784, 32), 32, capsys=capsys)
    assert done and "NOT YET" not in out


def conv_state(codes):
    conv_aes = {c: lessons.ConvAutoencoder(code=c) for c in codes}
    probes = {f"conv AE, {c}": [0.8, 0.8] for c in codes} | {"raw pixels (784)": [0.83, 0.84]}
    return conv_aes, probes


def test_exercise_3_check(capsys):
    done, out = run_check(nb05.exercise_3, *conv_state((16, 128)), capsys=capsys)
    assert not done and "NOT YET" in out and "code_sizes = (256, 2048)" in out
    done, _ = run_check(nb05.exercise_3, *conv_state((256, 2048)), capsys=capsys)
    assert done
    conv_aes, probes = conv_state((256, 2048))
    del probes["conv AE, 2048"]
    assert not run_check(nb05.exercise_3, conv_aes, probes, capsys=capsys)[0]


def tuned_state():
    return {(name, default * f): 0.8 for name, default in (("SGD", 1e-2), ("SGD momentum", 1e-2),
                                                            ("RMSprop", 1e-3)) for f in (0.3, 1, 3)}


def test_exercise_5_check(capsys):
    done, out = run_check(nb05.exercise_5, {}, capsys=capsys)
    assert not done and "NOT YET" in out
    assert run_check(nb05.exercise_5, tuned_state(), capsys=capsys)[0]
    only_two = {key: v for key, v in tuned_state().items() if key[0] != "RMSprop" or key[1] < 2e-3}
    assert not run_check(nb05.exercise_5, only_two, capsys=capsys)[0]
    wrong = tuned_state() | {("SGD", 0.01): 81.0}   # a percentage, not an accuracy
    assert not run_check(nb05.exercise_5, wrong, capsys=capsys)[0]


def test_exercise_6_check(capsys):
    codes = {"PCA, 16": (torch.randn(50, 16), torch.randn(1200, 16)), "conv AE, 16": (None, torch.randn(300, 16))}
    done, out = run_check(nb05.exercise_6, {}, codes, capsys=capsys)
    assert not done and "NOT YET" in out
    embedded = {"PCA, 16": np.zeros((1000, 2)), "conv AE, 16": np.zeros((300, 2))}
    assert run_check(nb05.exercise_6, embedded, codes, capsys=capsys)[0]
    assert not run_check(nb05.exercise_6, dict(embedded, **{"PCA, 16": np.zeros((1200, 2))}), codes,
                         capsys=capsys)[0]


TIED_CELL = '''class LinearAutoencoder(nn.Module):
    def __init__(self, n_in=784, k=32):
        super().__init__()
        self.encoder = nn.Linear(n_in, k)
        self.decoder_bias = nn.Parameter(torch.zeros(n_in))

    def forward(self, x):
        return F.linear(self.encoder(x), self.encoder.weight.T, self.decoder_bias)'''


def test_smoke_run_prints_the_pretraining_table_and_the_checks(monkeypatch):
    """Smoke run of notebook 05: section 5's table has its four arms with every column; the self-checks say
    "not yet" on the untouched notebook, and exercise 1's turns OK once the student ties the weights."""
    from nbrun import run, streams

    monkeypatch.setenv("COURSE_SMOKE", "1")
    nb = run("05_pca_autoencoders_segmentation.ipynb",
             then=[TIED_CELL, "linear_ae = LinearAutoencoder(784, cfg.k)\nnb05.exercise_1(linear_ae, cfg.k)"])
    out = streams(nb)
    table = out[out.index("pre-training table"):].splitlines()
    assert table[1].split() == ["val", "dice", "val", "iou", "val", "auc", "test", "dice", "test", "iou", "test",
                                "auc", "seconds"]
    rows = [line for line in table[2:6] if "encoder" in line]
    assert len(rows) == 4 and sum("autoencoder encoder" in r for r in rows) == 2
    assert all(0 <= float(v) <= 1 for r in rows for v in r.split()[-7:-1])
    assert "pre-training helped" in out or "pre-training did not help" in out
    before, after = out.rsplit("Self-check: exercise 1", 1)
    assert before.count("NOT YET") >= 4 and "all done" in after
