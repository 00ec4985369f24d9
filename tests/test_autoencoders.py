"""Unit tests for course_utils.autoencoders (the container and weight inspection; no files, no data).

01a/01b's MLP autoencoder and classifier are defined in those notebooks (course_utils.lessons); their tests are
tests/test_exercises_nb01.py and tests/test_nb_fashion_floors.py; 05's linear and conv autoencoders are
tested in tests/test_exercises_nb05.py.
"""
import pytest
import torch
from torch import nn

from course_utils import autoencoders as ae

pytestmark = pytest.mark.usefixtures("one_thread")


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
