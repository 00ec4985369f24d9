"""Memory format and precision of fit/evaluate/predict (issue 31, item 1) and placement once per fit (issue 24)."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from course_utils import speed, training


class Segmenter(nn.Module):
    """A small fully convolutional net with BatchNorm (per-pixel logits, as 03's networks)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.Conv2d(8, 2, 3, padding=1))

    def forward(self, x):
        return self.body(x)


class Viewing(nn.Module):
    """A classifier whose forward flattens with `.view`, which a channels_last feature map refuses."""

    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(3, 4, 3, padding=1), nn.Linear(4 * 8 * 8, 2)

    def forward(self, x):
        h = F.relu(self.conv(x))
        return self.fc(h.view(h.size(0), -1))


def _images(n=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 3, 8, 8, generator=gen)
    return X, (X[:, 0] > X[:, 1]).long()


def _fit_segmenter(epochs=2, **kwargs):
    torch.manual_seed(0)
    net = Segmenter()
    X, y = _images()
    history = training.fit(net, training.TensorLoader(X, y, 8, seed=0), nn.CrossEntropyLoss(),
                           torch.optim.SGD(net.parameters(), lr=0.1), epochs, "cpu",
                           val_loader=training.TensorLoader(X, y, 16, shuffle=False), **kwargs)
    return net, history


def _channels_last(net):
    w = net.body[0].weight
    return w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()


def test_fit_places_the_model_and_the_loss_once_per_call(monkeypatch):
    calls = []
    real = speed.place
    monkeypatch.setattr(speed, "place", lambda net, device, who="": (calls.append(who), real(net, device, who))[1])
    monkeypatch.setattr(training, "place", lambda net, device, who="": (calls.append(who), real(net, device, who))[1])
    _fit_segmenter(epochs=3)
    assert calls == ["fit", "loss"]  # not once per epoch and validation pass


def test_conv_nets_train_channels_last_with_the_same_results(monkeypatch):
    net, history = _fit_segmenter()
    assert _channels_last(net)
    with monkeypatch.context() as patch:
        patch.setattr(speed, "_convolutional", lambda net: False)  # the plain layout, as before
        plain_net, plain = _fit_segmenter()
    assert not _channels_last(plain_net)
    for name in ("train_loss", "val_loss"):
        assert history[name] == pytest.approx(plain[name], rel=1e-4)
    X, _ = _images(5, seed=1)
    out = training.predict(net, X, batch_size=2)
    assert out.is_contiguous() and torch.allclose(out, training.predict(plain_net, X), atol=1e-4)


def test_the_fast_layout_leaves_the_checkpoint_key_alone(tmp_path, capsys, monkeypatch):
    ckpt = tmp_path / "c.pt"
    with monkeypatch.context() as patch:
        patch.setattr(speed, "_convolutional", lambda net: False)
        _fit_segmenter(checkpoint=ckpt)
    capsys.readouterr()
    _, again = _fit_segmenter(checkpoint=ckpt)
    assert "resumed from" in capsys.readouterr().out and len(again["train_loss"]) == 2


def test_a_forward_that_needs_the_plain_layout_is_kept_in_it():
    torch.manual_seed(0)
    net = Viewing()
    X, pixels = _images()
    y = pixels.flatten(1).float().mean(1).gt(0.5).long()  # one label per image
    history = training.fit(net, training.TensorLoader(X, y, 8), nn.CrossEntropyLoss(),
                           torch.optim.SGD(net.parameters(), lr=0.1), 2, "cpu")
    assert len(history["train_loss"]) == 2 and net.conv.weight.is_contiguous()
    assert training.predict(net, X).shape == (32, 2)
    with pytest.raises(RuntimeError, match="view"):  # what the probe protects against
        Viewing()(X.contiguous(memory_format=torch.channels_last))


def test_the_first_batch_decides_when_the_loader_shows_no_tensors():
    torch.manual_seed(0)
    net = Viewing()
    X, pixels = _images()
    y = pixels.flatten(1).float().mean(1).gt(0.5).long()
    loader = training.AugmentedLoader(training.TensorLoader(X, y, 8), lambda X, y, generator: (X.flip(3), y))
    history = training.fit(net, loader, nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), lr=0.1), 2, "cpu")
    assert len(history["train_loss"]) == 2 and net.conv.weight.is_contiguous()


def test_prepare_for_device_and_as_input_for_other_inference_helpers():
    net = training.prepare_for_device(Segmenter(), "cpu")
    X = training.as_input(torch.rand(2, 3, 8, 8), net, "cpu")
    assert _channels_last(net) and X.is_contiguous(memory_format=torch.channels_last)
    mlp = training.prepare_for_device(nn.Linear(3, 2), "cpu")
    assert training.as_input(torch.rand(2, 3), mlp, "cpu").is_contiguous()


def test_precision_must_be_one_of_the_three():
    with pytest.raises(ValueError, match="'fp32', 'bf16', 'auto'.*'half'"):
        _fit_segmenter(precision="half")


def test_auto_precision_follows_the_hardware(monkeypatch):
    monkeypatch.setattr(speed, "native_bf16_cpu", lambda: False)
    assert speed.resolve_precision("auto", "cpu") is None
    assert speed.resolve_precision("bf16", "cpu") is torch.bfloat16  # asked for: used even when emulated
    monkeypatch.setattr(speed, "native_bf16_cpu", lambda: True)
    assert speed.resolve_precision("auto", "cpu") is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert speed.resolve_precision("auto", "cuda") is torch.float16  # mixed precision with a gradient scaler
    assert speed.resolve_precision("auto", "mps") is torch.float16
    assert speed.resolve_precision("fp32", "cuda") is None


def test_bf16_trains_close_to_fp32_and_is_its_own_checkpoint(tmp_path, capsys):
    _, fp32 = _fit_segmenter()
    ckpt = tmp_path / "c.pt"
    net, bf16 = _fit_segmenter(precision="bf16", checkpoint=ckpt)
    assert bf16["train_loss"] != fp32["train_loss"]  # autocast really ran in bf16
    assert bf16["train_loss"] == pytest.approx(fp32["train_loss"], rel=0.05)
    assert all(p.dtype == torch.float32 for p in net.parameters())  # weights stay fp32
    assert training.predict(net, _images(4)[0], precision="bf16").dtype == torch.float32
    capsys.readouterr()
    _fit_segmenter(checkpoint=ckpt)  # the same training in fp32: not the bf16 run's weights
    assert "holds another training (precision changed)" in capsys.readouterr().out
    _fit_segmenter(precision="bf16", checkpoint=ckpt)
    assert "holds another training (precision changed)" in capsys.readouterr().out  # the fp32 run replaced it


def test_keep_freed_memory_is_set_once_and_says_whether_it_applies():
    import sys

    from course_utils import speed
    first = speed.keep_freed_memory()
    assert isinstance(first, bool) and speed.keep_freed_memory() is first
    if sys.platform.startswith("linux"):
        import ctypes.util
        assert first == ("libc.so.6" in (ctypes.util.find_library("c") or "libc.so.6"))


def test_segnet_pool_gradient_hook_changes_layout_not_numbers():
    import torch
    from torch import nn

    from course_utils import lessons, speed

    def grads(hooked):
        torch.manual_seed(0)
        net = lessons.SegNet().to(memory_format=torch.channels_last)
        if hooked:
            speed.prepare_for_device(net, "cpu")
        seen = {}
        def keep(module, args, out):
            out[0].register_hook(lambda g: seen.setdefault("g", g))
        net.pool.register_forward_hook(keep)
        x = torch.rand(2, 3, 16, 16).contiguous(memory_format=torch.channels_last)
        nn.CrossEntropyLoss()(net(x), torch.randint(0, 3, (2, 16, 16))).backward()
        return [p.grad for p in net.parameters()], seen["g"]
    plain, plain_pool = grads(False)
    hooked, hooked_pool = grads(True)
    assert all(torch.equal(a, b) for a, b in zip(plain, hooked))
    assert torch.equal(plain_pool, hooked_pool)
    net = lessons.SegNet()
    speed.prepare_for_device(net, "cpu")
    speed.prepare_for_device(net, "cpu")
    assert len(net.pool._forward_hooks) == 1  # registered once, however often the network is prepared


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (scripts/gpu_check.py runs it there)")
@pytest.mark.parametrize("bf16_supported", [True, False], ids=["bf16", "fp16-with-scaler"])
def test_mixed_precision_on_cuda_trains_like_fp32(monkeypatch, bf16_supported):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16_supported)
    X, y = _images()

    def run(precision):
        torch.manual_seed(0)
        net = Segmenter()
        history = training.fit(net, training.TensorLoader(X, y, 8, seed=0), nn.CrossEntropyLoss(),
                               torch.optim.SGD(net.parameters(), lr=0.1), 3, "cuda", precision=precision)
        return net, history["train_loss"]
    _, fp32 = run("fp32")
    net, mixed = run("auto")
    assert speed.resolve_precision("auto", "cuda") is (torch.bfloat16 if bf16_supported else torch.float16)
    assert all(torch.isfinite(torch.tensor(mixed))) and mixed[-1] < mixed[0]
    assert mixed == pytest.approx(fp32, rel=0.05) and mixed != fp32
    assert all(p.dtype == torch.float32 and p.is_cuda for p in net.parameters())
    assert training.predict(net, X[:4], device="cuda", precision="auto").dtype == torch.float32
