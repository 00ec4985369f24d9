"""Unit tests for course_utils.autoencoders (weight inspection, linear and conv autoencoders; no files, no data).

01a/01b's MLP autoencoder and classifier are defined in those notebooks (course_utils.lessons); their tests are
tests/test_exercises_nb01.py and tests/test_nb_fashion_floors.py.
"""
import pytest
import torch
from torch import nn

from course_utils import autoencoders as ae

pytestmark = pytest.mark.usefixtures("one_thread")


def sgd_steps(net, X, target, lr=0.1, steps=5):
    """A few plain SGD steps (momentum 0.9) on MSE (helper for these tests)."""
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.mse_loss(net(X), target).backward()
        optimizer.step()


def test_autoencoder_forward_is_decoder_of_encoder():
    enc, dec = nn.Linear(6, 2), nn.Linear(2, 6)
    net = ae.Autoencoder(enc, dec)
    X = torch.randn(3, 6)
    assert torch.equal(net(X), dec(enc(X)))


def test_linear_layers_in_forward_order_and_first_layer_weights_is_a_detached_copy():
    net = ae.Autoencoder(nn.Sequential(nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 3)), nn.Linear(3, 12))
    assert [m.out_features for m in ae.linear_layers(net)] == [5, 3, 12]
    W = ae.first_layer_weights(net)
    assert W.shape == (5, 12) and not W.requires_grad and torch.equal(W, net.encoder[0].weight)
    W.zero_()
    assert net.encoder[0].weight.abs().sum() > 0


def test_snapshot_and_max_change_measure_an_edit():
    net = nn.Linear(3, 2)
    before = ae.snapshot(net)
    assert ae.max_change(before, net) == 0.0
    with torch.no_grad():
        net.bias[1] += 0.25
    assert ae.max_change(before, net) == pytest.approx(0.25)


def test_linear_autoencoder_is_linear():
    torch.manual_seed(0)
    net = ae.LinearAutoencoder(12, 3)
    x, y = torch.randn(1, 12), torch.randn(1, 12)
    zero = net(torch.zeros(1, 12))
    assert torch.allclose(net(x + y) - zero, (net(x) - zero) + (net(y) - zero), atol=1e-5)
    assert net.encoder.out_features == 3


def test_linear_autoencoder_learns_a_low_rank_signal():
    torch.manual_seed(0)
    X = torch.randn(64, 2) @ torch.randn(2, 10)
    net = ae.LinearAutoencoder(10, 2)
    start = nn.functional.mse_loss(net(X), X).item()
    sgd_steps(net, X, X, lr=0.02, steps=60)
    assert nn.functional.mse_loss(net(X), X).item() < 0.05 * start


@pytest.mark.parametrize("code, channels, size", [(8, 1, 28), (32, 3, 16)])
def test_conv_autoencoder_shapes_and_range(code, channels, size):
    net = ae.ConvAutoencoder(code=code, in_channels=channels, image_size=size, width=4)
    X = torch.rand(2, channels, size, size)
    assert net.encoder(X).shape == (2, code)
    out = net(X)
    assert out.shape == X.shape and out.min() >= 0 and out.max() <= 1


def test_conv_autoencoder_rejects_bad_size():
    with pytest.raises(ValueError, match="divisible by 4"):
        ae.ConvAutoencoder(code=4, image_size=30)
