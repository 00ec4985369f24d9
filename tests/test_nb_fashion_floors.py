"""Floors for the recipes of notebooks 01a and 01b, run at a short schedule on a small synthetic stand-in."""
import pytest
import torch
from torch import nn

from course_utils import autoencoders as ae
from course_utils import datasets, training
from course_utils.datasets.standins import make_fashion_mnist
from course_utils.lessons import Classifier, MLPAutoencoder, ShallowAutoencoder

BATCH = 100


@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
    """A 4000/1000 synthetic Fashion-MNIST, flattened as the notebooks do: (X, y, X_test, y_test).

    Runs on one thread: with the team's processes sharing 2 cores, two spinning threads are 10x slower.
    """
    root = tmp_path_factory.mktemp("course_data")
    make_fashion_mnist(root / "synthetic", seed=0, n_train=4000, n_test=1000)
    d = datasets.load_fashion_mnist("synthetic", root=root)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield d.X_train.view(len(d.X_train), -1), d.y_train, d.X_test.view(len(d.X_test), -1), d.y_test
    torch.set_num_threads(threads)


def train(net, X, y, loss_fn, lr, num_epochs):
    """The notebooks' training step: fresh SGD (momentum 0.9) over the trainable parameters, then fit."""
    loader = training.TensorLoader(X, y, BATCH, seed=0)
    optimizer = torch.optim.SGD(training.trainable_parameters(net), lr=lr, momentum=0.9)
    return training.fit(net, loader, loss_fn, optimizer, num_epochs, "cpu")


def accuracy_on(net, X, y):
    """Accuracy of a classifier on held-out data."""
    return training.accuracy(training.predict(net, X, 500), y)


def mean_image_mse(X_train, X_test):
    """MSE of always answering the mean training image: the baseline a reconstruction must beat."""
    return nn.functional.mse_loss(X_train.mean(0).expand_as(X_test), X_test).item()


def test_end_to_end_recipe_reconstructs_and_classifies(fashion):
    X, y, X_test, y_test = fashion
    torch.manual_seed(0)
    net = MLPAutoencoder(100)
    history = train(net, X, None, nn.MSELoss(), lr=0.5, num_epochs=10)
    mse = nn.functional.mse_loss(training.predict(net, X_test, 500), X_test).item()
    assert history["train_loss"][-1] < 0.6 * history["train_loss"][0]
    assert mse < 0.8 * mean_image_mse(X, X_test)  # beats the best constant answer
    clf = Classifier(net.encoder, 100)
    train(clf, X, y, nn.NLLLoss(), lr=0.01, num_epochs=3)
    assert accuracy_on(clf, X_test, y_test) > 0.6  # chance is 0.1


def test_layerwise_stages_train_the_right_weights(fashion):
    X, y, X_test, y_test = fashion
    torch.manual_seed(0)
    first = ShallowAutoencoder(784, 100)
    train(first, X, None, nn.MSELoss(), lr=0.5, num_epochs=2)
    codes = training.predict(first.encoder, X, 500)
    second = ShallowAutoencoder(100, 100)
    frozen_before, new_before = ae.snapshot(first.encoder), ae.snapshot(second)
    stage2_net = nn.Sequential(training.set_trainable(first.encoder, False), second)  # 01b's stage 2
    stage2 = train(stage2_net, X, codes, nn.MSELoss(), lr=0.5, num_epochs=2)
    assert ae.max_change(frozen_before, first.encoder) == 0.0
    assert ae.max_change(new_before, second) > 1e-3
    assert stage2["train_loss"][-1] < stage2["train_loss"][0]
    clf = Classifier(training.set_trainable(nn.Sequential(first.encoder, second.encoder), True), 100)
    assert training.count_parameters(clf, trainable_only=True) == training.count_parameters(clf)
    second_before = ae.snapshot(second.encoder)
    train(clf, X, y, nn.NLLLoss(), lr=0.01, num_epochs=3)
    assert ae.max_change(second_before, second.encoder) > 0.0  # the stacked layer is fine-tuned, not dropped
    assert accuracy_on(clf, X_test, y_test) > 0.6  # chance is 0.1
