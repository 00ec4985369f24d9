"""Autoencoders for Fashion-MNIST: MLP (end-to-end and greedy layer-wise).

Notebooks 01a (end-to-end pre-training) and 01b (layer-wise pre-training) build their models here
(notebook 05 defines its linear and convolutional autoencoders in its own cells).
Models only: nothing in this module reads files, trains or plots.
"""
from collections import OrderedDict

import torch
from torch import nn

from .training import trainable_parameters


def relu_mlp(sizes):
    """Linear + ReLU after every layer along `sizes` (01a/01b encoders and decoders, as in the lecture)."""
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """An encoder followed by a decoder (01a section 2, every 01b stage)."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x):
        return self.decoder(self.encoder(x))


def mlp_autoencoder(sizes=(784, 100, 100)):
    """Mirror-symmetric ReLU autoencoder, e.g. 784→100→100→100→784 (01a section 2; 01b with two sizes)."""
    sizes = list(sizes)
    return Autoencoder(relu_mlp(sizes), relu_mlp(sizes[::-1]))


def linear_layers(module):
    """All nn.Linear layers of `module` in forward order (01a/01b weight plots)."""
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def code_size(encoder):
    """Width of the encoder's output, i.e. out_features of its last Linear (01a section 4)."""
    return linear_layers(encoder)[-1].out_features


def first_layer_weights(net):
    """A detached copy of the first Linear weight, hidden units × inputs (01a/01b weight tiles)."""
    return linear_layers(net)[0].weight.detach().cpu().clone()


def classifier(encoder, num_classes=10):
    """Keep the trained encoder and add a Linear → LogSoftmax head (01a section 4, 01b stage 3)."""
    head = nn.Sequential(nn.Linear(code_size(encoder), num_classes), nn.LogSoftmax(dim=1))
    return nn.Sequential(OrderedDict(encoder=encoder, head=head))


def freeze(module):
    """Switch off gradients of every parameter of `module`; returns it (01b stage 2)."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def unfreeze(module):
    """Switch gradients back on for every parameter of `module`; returns it (01b stage 3)."""
    for p in module.parameters():
        p.requires_grad_(True)
    return module


def make_sgd(net, lr, momentum=0.9):
    """A fresh SGD optimiser over the trainable parameters only (01a, and each 01b stage)."""
    params = trainable_parameters(net)
    if not params:
        raise ValueError("make_sgd: the network has no trainable parameters (is everything frozen?)")
    return torch.optim.SGD(params, lr=lr, momentum=momentum)


def code_trainer(frozen_encoder, autoencoder):
    """Frozen encoder followed by a new autoencoder on its codes; train it against the codes (01b stage 2)."""
    return nn.Sequential(OrderedDict(frozen=freeze(frozen_encoder), new=autoencoder))


def stack_encoders(*encoders):
    """Chain pre-trained encoders into one deep encoder, layer1 first (01b stage 3)."""
    names = [f"layer{i + 1}" for i in range(len(encoders))]
    return nn.Sequential(OrderedDict(zip(names, encoders, strict=True)))


def stacked_autoencoder(autoencoders):
    """Encoders in order, decoders in reverse: the deep autoencoder the greedy stages built (01b stage 2)."""
    encoder = stack_encoders(*[ae.encoder for ae in autoencoders])
    decoders = [ae.decoder for ae in reversed(autoencoders)]
    return Autoencoder(encoder, nn.Sequential(*decoders))


def snapshot(module):
    """Detached copies of every parameter, keyed by name (01b: check what a stage changed)."""
    return {name: p.detach().cpu().clone() for name, p in module.named_parameters()}


def max_change(before, module):
    """Largest absolute change of any parameter of `module` since `snapshot` (01b freezing check)."""
    after = snapshot(module)
    return max((after[name] - before[name]).abs().max().item() for name in before)
