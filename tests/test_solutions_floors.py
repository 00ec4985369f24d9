"""Facts the worked solutions (solutions/*.ipynb) rest on, checked on small tensors in a few seconds."""
import copy

import numpy as np
import torch
from torch import nn

from course_utils import autoencoders as ae
from course_utils import lessons, training


def random_images(n=200, d=64, seed=0):
    """n random 'images' of d pixels in [0, 1]."""
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed))


def stacked_network():
    """01b's stage 2 on small sizes: a trained-looking first autoencoder with a new block appended to its encoder;
    returns (first autoencoder, the new block, the stacked network), seeded."""
    torch.manual_seed(0)
    first = lessons.ShallowAutoencoder(64, 16)
    block = nn.Sequential(nn.Linear(16, 16), nn.ReLU())
    return first, block, ae.Autoencoder(nn.Sequential(first.encoder, block), first.decoder)


def test_stage1_optimiser_never_updates_an_appended_block():
    # 01b solutions, exercise 2: the lecture's bug, reproduced with course_utils' fit
    first, block, net = stacked_network()
    X = random_images()
    stale = torch.optim.SGD(first.parameters(), lr=0.5, momentum=0.9)
    block_before, layer1_before = ae.snapshot(block), ae.snapshot(first.encoder)
    training.fit(net, training.TensorLoader(X, None, 50), nn.MSELoss(), stale, 2, "cpu")
    assert ae.max_change(block_before, block) == 0.0
    assert ae.max_change(layer1_before, first.encoder) > 1e-4
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in block.parameters())


def test_sgd_over_the_whole_network_does_update_the_block():
    # the fix the 01b solution contrasts with the bug
    _, block, net = stacked_network()
    X = random_images()
    before = ae.snapshot(block)
    optimizer = torch.optim.SGD(training.trainable_parameters(net), lr=0.5, momentum=0.9)
    training.fit(net, training.TensorLoader(X, None, 50), nn.MSELoss(), optimizer, 2, "cpu")
    assert ae.max_change(before, block) > 1e-4


def test_step_lr_between_one_epoch_fits_halves_the_rate_and_fit_obeys_it():
    # 02 solutions, exercise 2: fit one epoch at a time, scheduler.step() in between
    torch.manual_seed(0)
    X, y = random_images(), (random_images(seed=1) > 0.5).float()
    net = nn.Sequential(nn.Linear(64, 64), nn.Sigmoid())
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    loader = training.TensorLoader(X, y, 50, seed=0)
    rates = []
    for _ in range(5):
        rates.append(optimizer.param_groups[0]["lr"])
        training.fit(net, loader, nn.BCELoss(), optimizer, 1, "cpu")
        scheduler.step()
    assert np.allclose(rates, [1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4])
    for group in optimizer.param_groups:  # a rate of 0 must freeze the weights: fit uses this optimiser as is
        group["lr"] = 0.0
    before = copy.deepcopy(net.state_dict())
    training.fit(net, loader, nn.BCELoss(), optimizer, 1, "cpu")
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())

