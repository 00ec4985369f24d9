"""Self-checks of notebook 05's exercises (1 tied weights, 3 the project's code sizes, 5 tuned optimisers,
6 t-SNE pictures); each reads the student's objects and calls `checks.report`."""
import numpy as np
import torch

from . import report

PROJECT_CODES = (256, 2048)
OPTIMISERS = ("SGD", "SGD momentum", "RMSprop")


def exercise_1(linear_ae, k):
    """Exercise 1: the linear autoencoder's decoder reuses the encoder's weight (tied), and still reconstructs."""
    weights = [p for name, p in linear_ae.named_parameters() if p.dim() == 2]
    n_in = weights[0].shape[1] if weights else 0
    x = torch.zeros(2, n_in) if n_in else None
    out = linear_ae(x.to(weights[0].device)) if n_in else None
    return report("exercise 1 (tied weights)", [
        (len(weights) == 1, "one weight matrix in the whole autoencoder (the decoder reuses the encoder's)",
         "in the LinearAutoencoder cell, drop the decoder's nn.Linear and decode with F.linear(h, "
         "self.encoder.weight.T, bias), keeping a bias of its own"),
        (len(weights) == 1 and tuple(weights[0].shape) == (k, n_in), f"that weight is k × inputs with k = {k}",
         "the encoder is still nn.Linear(n_in, k); only the decoder changes"),
        (out is not None and tuple(out.shape) == (2, n_in), "the output has the input's shape",
         "the decoder must map the k numbers back to all n_in pixels"),
    ])


def exercise_3(conv_aes, probes):
    """Exercise 3: conv autoencoders with the project's code sizes were trained and probed."""
    sizes = set(conv_aes)
    encoders_ok = all(conv_aes[c].encoder(torch.zeros(1, 1, 28, 28, device=next(conv_aes[c].parameters()).device))
                      .shape[-1] == c for c in sizes & set(PROJECT_CODES))
    return report("exercise 3 (the project's code sizes)", [
        (set(PROJECT_CODES) <= sizes, "conv autoencoders with codes of 256 and 2048 numbers were trained",
         "set code_sizes = (256, 2048) in the parameters cell and re-run from the top"),
        (set(PROJECT_CODES) <= sizes and encoders_ok, "each encoder ends in as many numbers as its code size",
         "conv_aes maps a code size to its autoencoder; re-run the training cell of section 2"),
        (all(f"conv AE, {c}" in probes for c in PROJECT_CODES), "both codes went through the linear probe",
         "re-run the probe cell of section 2 after training"),
    ])


def exercise_5(tuned):
    """Exercise 5: three learning rates for each of SGD, SGD with momentum and RMSprop, scored on validation."""
    tuned = tuned or {}
    rates = {name: sorted({lr for (opt, lr) in tuned if opt == name}) for name in OPTIMISERS}
    values_ok = bool(tuned) and all(isinstance(v, (float, int, np.floating)) and 0 <= v <= 1 for v in tuned.values())
    spread = all(len(r) >= 3 and r[-1] / r[0] >= 5 for r in rates.values())
    return report("exercise 5 (a fair optimiser comparison)", [
        (all(len(r) >= 3 for r in rates.values()), "three learning rates or more for SGD, SGD momentum and RMSprop",
         "fill tuned[(name, lr)] for the names 'SGD', 'SGD momentum', 'RMSprop' and three rates each"),
        (spread, "the rates of each optimiser span about a factor of 10 (×0.3 to ×3)",
         "try 0.3, 1 and 3 times each optimiser's default rate"),
        (values_ok, "every entry is a validation accuracy between 0 and 1",
         "store the best validation accuracy of each run (history['val_accuracy'][history['best_epoch'] - 1])"),
    ])


def exercise_6(embedded, codes):
    """Exercise 6: a t-SNE picture of the validation codes of every code space in `codes`."""
    embedded = embedded or {}
    n = {name: min(1000, len(Z_val)) for name, (_, Z_val) in codes.items()}
    shapes_ok = bool(embedded) and all(np.asarray(embedded[name]).shape == (n[name], 2)
                                       for name in embedded if name in n)
    finite = bool(embedded) and all(np.isfinite(np.asarray(v, dtype=float)).all() for v in embedded.values())
    return report("exercise 6 (t-SNE of the codes)", [
        (set(codes) <= set(embedded), "every code space of `codes` has a t-SNE picture",
         "loop over codes.items() and fit sklearn.manifold.TSNE on Z_val[:1000] of each"),
        (shapes_ok, "each picture holds the first 1000 validation codes as 2-D points",
         "TSNE(n_components=2).fit_transform(Z_val[:1000].numpy()) gives one (1000, 2) array"),
        (finite, "the points are finite numbers", "check the input codes for NaN"),
    ])
