"""`resnet18-weights --from FILE` (issue 27 item 3): a downloaded copy of torchvision's ResNet-18 ImageNet weights
goes into the torch hub cache only after its sha256 prefix, keys and shapes are checked; nothing is unpickled
beyond tensors. Generated files stand in for the 45 MB download (their sha256 prefix is patched in as the
release's), with a temporary TORCH_HOME."""
import hashlib

import pytest
import torch
import torchvision
from torchvision.models import resnet18

from course_utils import data_download, weights


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A temporary TORCH_HOME; returns a function that makes a file's sha256 prefix the release's."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))

    def release(path):
        prefix = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
        monkeypatch.setattr(weights, "URL", f"https://download.pytorch.org/models/resnet18-{prefix}.pth")
        return path
    return release


def saved(path, state):
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def state():
    torch.manual_seed(0)
    return resnet18().state_dict()


def cli(capsys, *args):
    code = data_download.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_the_release_name_is_torchvisions():
    assert weights.URL == torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    assert weights.official_name() == "resnet18-f37072fd.pth"


def test_right_shapes_and_hash_are_imported_where_torchvision_reads(tmp_path, hub, state, capsys):
    source = hub(saved(tmp_path / "download.pth", state))
    code, out = cli(capsys, "resnet18-weights", "--from", source)
    assert code == 0, out
    target = weights.cached_path()
    assert target.parent == tmp_path / "torch-home" / "hub" / "checkpoints"
    assert target.read_bytes() == source.read_bytes() and "imported" in out
    loaded = torch.load(target, weights_only=True)
    assert torch.equal(loaded["fc.weight"], state["fc.weight"])
    code, out = cli(capsys, "status", "--root", tmp_path / "data")
    assert code == 0 and any(line.startswith("ResNet-18 weights") and "present" in line for line in out.splitlines())


def test_right_shapes_with_the_wrong_hash_prefix_are_refused(tmp_path, hub, state, capsys):
    source = saved(tmp_path / "resnet18-f37072fd.pth", state)  # the release's name, other content
    code, out = cli(capsys, "resnet18-weights", "--from", source)
    assert code == 1 and str(source) in out and "sha256 starts" in out and "f37072fd" in out
    assert not weights.cached_path().exists() and "Traceback" not in out
    code, out = cli(capsys, "status", "--root", tmp_path / "data")
    assert "ResNet-18 weights" in out and "absent" in out and "resnet18-weights --from" in out


def test_wrong_keys_and_wrong_shapes_are_refused(tmp_path, hub, state, capsys):
    renamed = dict(state)
    renamed["head.weight"] = renamed.pop("fc.weight")
    source = hub(saved(tmp_path / "renamed.pth", renamed))
    code, out = cli(capsys, "resnet18-weights", "--from", source)
    assert code == 1 and str(source) in out and "not a ResNet-18 state dict" in out and "fc.weight" in out
    two_classes = dict(state, **{"fc.weight": torch.zeros(2, 512)})
    source = hub(saved(tmp_path / "two-classes.pth", two_classes))
    code, out = cli(capsys, "resnet18-weights", "--from", source)
    assert code == 1 and "fc.weight has shape (2, 512)" in out and not weights.cached_path().exists()


def test_truncated_file_is_refused(tmp_path, hub, state, capsys):
    whole = saved(tmp_path / "whole.pth", state).read_bytes()
    source = tmp_path / "truncated.pth"
    source.write_bytes(whole[: len(whole) // 3])
    hub(source)
    code, out = cli(capsys, "resnet18-weights", "--from", source)
    assert code == 1 and str(source) in out and "cannot be read" in out and "Traceback" not in out
    assert not weights.cached_path().exists()


class Payload:
    """A pickle that would create a file when unpickled with weights_only=False."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_malicious_pickle_is_refused_and_never_run(tmp_path, hub, state, capsys):
    marker = tmp_path / "payload-ran"
    source = hub(saved(tmp_path / "evil.pth", dict(state, extra=Payload(marker))))
    code, out = cli(capsys, "resnet18-weights", "--from", source)
    assert code == 1 and str(source) in out and "nothing in it was run" in out
    assert not marker.exists() and "weights_only=False" not in out and not weights.cached_path().exists()


def test_missing_file_and_weights_error_are_one_line(tmp_path, hub, capsys):
    code, out = cli(capsys, "resnet18-weights", "--from", tmp_path / "nowhere.pth")
    assert code == 1 and "does not exist" in out and out.count("\n") == 1
    with pytest.raises(weights.WeightsError, match="does not exist"):
        weights.load_checked(tmp_path / "nowhere.pth")
