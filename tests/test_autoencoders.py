"""Unit tests for course_utils.autoencoders (models and layer-wise steps; no files, no data set)."""
import pytest
import torch
from torch import nn

from course_utils import autoencoders as ae
from course_utils.training import count_parameters

pytestmark = pytest.mark.usefixtures("one_thread")


def sgd_steps(net, X, target, lr=0.1, steps=5):
    """A few plain SGD steps on MSE, through make_sgd (helper for these tests)."""
    optimizer = ae.make_sgd(net, lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.mse_loss(net(X), target).backward()
        optimizer.step()


def test_relu_mlp_layers_and_shape():
    net = ae.relu_mlp([8, 5, 3])
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU]
    out = net(torch.randn(4, 8))
    assert out.shape == (4, 3) and (out >= 0).all()


def test_autoencoder_forward_is_decoder_of_encoder():
    enc, dec = nn.Linear(6, 2), nn.Linear(2, 6)
    net = ae.Autoencoder(enc, dec)
    X = torch.randn(3, 6)
    assert torch.equal(net(X), dec(enc(X)))


def test_mlp_autoencoder_lecture_architecture():
    net = ae.mlp_autoencoder((784, 100, 100))
    enc = [(m.in_features, m.out_features) for m in ae.linear_layers(net.encoder)]
    dec = [(m.in_features, m.out_features) for m in ae.linear_layers(net.decoder)]
    assert enc == [(784, 100), (100, 100)] and dec == [(100, 100), (100, 784)]
    assert net(torch.rand(2, 784)).shape == (2, 784)
    assert count_parameters(net) == (784 * 100 + 100) + (100 * 100 + 100) + (100 * 100 + 100) + (100 * 784 + 784)


def test_linear_layers_order_and_code_size():
    net = ae.mlp_autoencoder((10, 7, 4))
    sizes = [m.out_features for m in ae.linear_layers(net)]
    assert sizes == [7, 4, 7, 10]
    assert ae.code_size(net.encoder) == 4


def test_first_layer_weights_is_a_detached_copy():
    net = ae.mlp_autoencoder((12, 5))
    W = ae.first_layer_weights(net)
    assert W.shape == (5, 12) and not W.requires_grad
    W.zero_()
    assert net.encoder[0].weight.abs().sum() > 0


def test_classifier_keeps_encoder_weights_and_outputs_log_probs():
    net = ae.mlp_autoencoder((20, 8, 6))
    W = ae.first_layer_weights(net)
    clf = ae.classifier(net.encoder, num_classes=3)
    assert clf.encoder is net.encoder and torch.equal(ae.first_layer_weights(clf), W)
    logp = clf(torch.rand(5, 20))
    assert logp.shape == (5, 3)
    assert torch.allclose(logp.exp().sum(dim=1), torch.ones(5), atol=1e-5)


def test_freeze_and_unfreeze_switch_what_counts_as_trainable():
    net = ae.mlp_autoencoder((6, 4))
    ae.freeze(net.encoder)
    assert count_parameters(net, trainable_only=True) == 4 * 6 + 6 == count_parameters(net.decoder)
    ae.unfreeze(net.encoder)
    assert count_parameters(net, trainable_only=True) == (6 * 4 + 4) + (4 * 6 + 6) == count_parameters(net)


def test_make_sgd_only_holds_trainable_and_refuses_all_frozen():
    net = ae.mlp_autoencoder((6, 4))
    ae.freeze(net.encoder)
    optimizer = ae.make_sgd(net, lr=0.5)
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert held == {id(p) for p in net.decoder.parameters()}
    assert optimizer.param_groups[0]["lr"] == 0.5 and optimizer.param_groups[0]["momentum"] == 0.9
    with pytest.raises(ValueError, match="frozen"):
        ae.make_sgd(ae.freeze(net), lr=0.1)


def test_code_trainer_changes_new_layer_only():
    torch.manual_seed(0)
    first = ae.mlp_autoencoder((16, 8))
    second = ae.mlp_autoencoder((8, 8))
    net = ae.code_trainer(first.encoder, second)
    X = torch.rand(32, 16)
    with torch.no_grad():
        codes = first.encoder(X)
    before_first, before_second = ae.snapshot(first.encoder), ae.snapshot(second)
    sgd_steps(net, X, codes)
    assert ae.max_change(before_first, first.encoder) == 0.0
    assert ae.max_change(before_second, second) > 0.0


def test_stack_encoders_names_and_order():
    a, b = ae.mlp_autoencoder((10, 6)), ae.mlp_autoencoder((6, 3))
    deep = ae.stack_encoders(a.encoder, b.encoder)
    assert [name for name, _ in deep.named_children()] == ["layer1", "layer2"]
    X = torch.rand(4, 10)
    assert torch.equal(deep(X), b.encoder(a.encoder(X)))
    assert ae.code_size(deep) == 3


def test_stacked_autoencoder_reverses_decoders():
    a, b = ae.mlp_autoencoder((10, 6)), ae.mlp_autoencoder((6, 3))
    deep = ae.stacked_autoencoder([a, b])
    X = torch.rand(4, 10)
    expected = a.decoder(b.decoder(b.encoder(a.encoder(X))))
    assert torch.equal(deep(X), expected)


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
