"""Autoencoder plumbing: the encoder + decoder container and weight inspection (01a, 01b).

The networks themselves are defined in the notebooks' cells (course_utils.lessons holds the copies later notebooks
import). Nothing in this module reads files, trains or plots.
"""
from torch import nn


class Autoencoder(nn.Module):
    """An encoder followed by a decoder (ConvAutoencoder of notebook 05, patches' patch autoencoder)."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x):
        return self.decoder(self.encoder(x))


def linear_layers(module):
    """All nn.Linear layers of `module` in forward order (01a/01b weight plots and self-checks)."""
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def first_layer_weights(net):
    """A detached copy of the first Linear weight, hidden units × inputs (01a/01b weight tiles)."""
    return linear_layers(net)[0].weight.detach().cpu().clone()


def snapshot(module):
    """Detached copies of every parameter, keyed by name (01b: check what a stage changed)."""
    return {name: p.detach().cpu().clone() for name, p in module.named_parameters()}


def max_change(before, module):
    """Largest absolute change of any parameter of `module` since `snapshot` (01b freezing check)."""
    after = snapshot(module)
    return max((after[name] - before[name]).abs().max().item() for name in before)
