"""Autoencoder plumbing: weight inspection for 01a/01b, linear and convolutional autoencoders for notebook 05.

The MLP autoencoders and classifiers of 01a/01b are defined in those notebooks' cells (course_utils.lessons
holds the copies later notebooks import). Nothing in this module reads files, trains or plots.
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


class LinearAutoencoder(nn.Module):
    """One Linear layer down to k codes and one back, no activations: PCA's subspace (notebook 05)."""

    def __init__(self, n_in=784, k=32):
        super().__init__()
        self.encoder = nn.Linear(n_in, k)
        self.decoder = nn.Linear(k, n_in)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def conv_encoder(code, in_channels, image_size, width):
    """Two stride-2 convolutions then a Linear to `code` features (ConvAutoencoder, notebook 05)."""
    side = image_size // 4
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(2 * width * side * side, code))


def conv_decoder(code, in_channels, image_size, width):
    """Linear back to a feature map then two stride-2 transposed convs and a Sigmoid (notebook 05)."""
    side = image_size // 4
    return nn.Sequential(
        nn.Linear(code, 2 * width * side * side), nn.ReLU(),
        nn.Unflatten(1, (2 * width, side, side)),
        nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(width, in_channels, 4, stride=2, padding=1), nn.Sigmoid())


class ConvAutoencoder(Autoencoder):
    """Small convolutional autoencoder with a configurable code size; image side divisible by 4 (notebook 05)."""

    def __init__(self, code=32, in_channels=1, image_size=28, width=16):
        if image_size % 4:
            raise ValueError(f"ConvAutoencoder: image_size must be divisible by 4, got {image_size} (e.g. 28)")
        super().__init__(conv_encoder(code, in_channels, image_size, width),
                         conv_decoder(code, in_channels, image_size, width))
