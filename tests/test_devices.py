"""Models follow the device (issue 15): the helpers move a model where they run it, and a stand-in device
played on the CPU finds every module or tensor a notebook or solution leaves behind, without a GPU (the nbval run
of every notebook and solution uses it: see the root conftest.py)."""

import pytest
import standin_device
import torch
from nbclient.exceptions import CellExecutionError
from nbrun import added_after, replaced, run
from torch import nn

from course_utils import devices, lessons, training


@pytest.fixture
def stand_in():
    with standin_device.StandInDevice():
        yield standin_device.STAND_IN


def _encoder_on(device):
    torch.manual_seed(0)
    return lessons.MLPAutoencoder(hidden=16).to(device).encoder


def test_stand_in_device_fails_like_a_gpu(stand_in):
    x = torch.rand(4, 784)
    net = nn.Linear(784, 3).to(stand_in)
    assert next(net.parameters()).device == stand_in and x.to(stand_in).device == stand_in
    with pytest.raises(RuntimeError, match="same device"):
        net(x)  # an input left on the CPU
    with pytest.raises(TypeError, match="numpy"):
        net(x.to(stand_in)).detach().numpy()
    assert net(x.to(stand_in)).detach().cpu().numpy().shape == (4, 3)


def test_head_left_on_the_cpu_fails_without_the_helpers(stand_in):  # 01b's end-to-end cell as it was written
    clf = lessons.Classifier(_encoder_on(stand_in), code_size=16)  # no .to(cfg.device): the head stays on the CPU
    with pytest.raises(RuntimeError, match="same device"):
        clf(torch.rand(5, 784).to(stand_in))


def test_helpers_move_the_model_to_their_device(stand_in):
    X, y = torch.rand(64, 784), torch.randint(0, 10, (64,))
    clf = lessons.Classifier(_encoder_on(stand_in), code_size=16)
    optimizer = torch.optim.SGD(clf.parameters(), lr=0.01, momentum=0.9)  # built before the move: fit keeps them
    history = training.fit(clf, training.TensorLoader(X, y, 16), nn.NLLLoss(), optimizer, 2, stand_in,
                           val_loader=training.TensorLoader(X, y, 32, shuffle=False))
    assert len(history["val_loss"]) == 2
    assert all(p.device == stand_in for p in clf.parameters())
    head = lessons.Classifier(_encoder_on("cpu"), code_size=16)
    assert training.predict(head, X, 32, stand_in).shape == (64, 10)
    assert next(head.parameters()).device == stand_in


def test_guard_names_a_tensor_attribute_that_cannot_follow(stand_in):
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 2)
            self.scale = torch.ones(2)  # a plain attribute, not a buffer: .to(device) leaves it behind

        def forward(self, x):
            return self.linear(x) * self.scale
    with pytest.raises(RuntimeError, match="register_buffer\\('scale'"):
        training.predict(Scaled(), torch.rand(3, 4), device=stand_in)


def test_product_package_has_no_stand_in():
    assert not hasattr(devices, "StandInDevice") and not hasattr(devices, "STAND_IN")
    assert devices.same_device("cuda:0", "cuda") and not devices.same_device("cpu", "cuda")
    assert not devices.same_device("cpu", standin_device.STAND_IN)  # what the kernels' check relies on


@pytest.fixture
def stand_in_env(monkeypatch, tmp_path):
    """Kernels started by the test get an IPython startup file that switches the stand-in device on."""
    monkeypatch.setenv("COURSE_SMOKE", "1")
    monkeypatch.setenv("IPYTHONDIR", str(standin_device.startup_folder(tmp_path / "ipython")))
    monkeypatch.setenv("COURSE_WIDGETS", "0")
    monkeypatch.setenv("COURSE_PROGRESS", "0")


# Every notebook and solution runs on the stand-in device in the nbval run itself (the root conftest.py starts its
# kernels with it and fails a set-up cell that does not report it), so no test here executes them a second time.


def test_01b_cell_fails_the_check_when_helpers_leave_the_model(stand_in_env):
    # a head built without .to(cfg.device), and helpers that move nothing: the stand-in device must catch it
    undo = ("import course_utils.speed\ncourse_utils.speed.place = training.place = lambda net, device, who=None: net"
            "  # the helpers as they were: nothing moved")
    head_on_cpu = replaced("e2e = Classifier(full.encoder, cfg.hidden, num_classes=10).to(cfg.device)",
                           "e2e = Classifier(full.encoder, cfg.hidden, num_classes=10)")
    with pytest.raises(CellExecutionError, match="same device"):
        run("01b_fashion_mnist_layerwise_pretraining.ipynb", {"compare_end_to_end": True},
            changes=[added_after("from course_utils import datasets, metrics, plotting, training", undo), head_on_cpu])
