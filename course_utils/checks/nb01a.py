"""Self-checks of notebook 01a's exercises (the cells right after exercises 1 and 3)."""
from torch import nn

from . import report


def exercise_1(cfg, ae_history, clf_history):
    """Exercise 1: both stages trained for the lecture notebook's 30 epochs."""
    epochs = 30
    return report("exercise 1, the full schedule", [
        (cfg.num_epochs == epochs, f"num_epochs is the lecture notebook's {epochs}",
         "set num_epochs in the parameters cell, then Run All"),
        (len(ae_history.get("train_loss", [])) == cfg.num_epochs, "the autoencoder trained for num_epochs epochs",
         "run the autoencoder's training cell (section 3) again after changing the parameter"),
        (len(clf_history.get("train_loss", [])) == cfg.num_epochs, "the classifier trained for num_epochs epochs",
         "run the classifier's training cell (section 6) again after changing the parameter"),
    ])


def _last_layer(module):
    """The last module of a Sequential (or the module itself)."""
    return list(module.children())[-1] if isinstance(module, nn.Sequential) and len(module) else module


def exercise_3(net, recon):
    """Exercise 3: no ReLU at the decoder's output, and no output pixel that is 0 for every test image."""
    last = _last_layer(net.decoder)
    dead = int((recon == 0).all(dim=0).sum())
    return report("exercise 3, no output ReLU", [
        (not isinstance(last, (nn.ReLU, nn.ReLU6)),
         "the decoder's last layer is not a ReLU",
         "in the MLPAutoencoder cell, delete the nn.ReLU() after the decoder's last nn.Linear"),
        (isinstance(last, (nn.Linear, nn.Identity)), "the decoder ends with its Linear layer (a linear output)",
         "the decoder should end right after nn.Linear(hidden, n_pixels)"),
        (dead == 0, "no output pixel is 0 for every test image",
         "re-run the cells from the MLPAutoencoder cell down to the reconstructions of section 4"),
    ])
