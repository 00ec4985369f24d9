from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import runtime
from course_utils.datasets import location


def test_data_root_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert runtime.data_root() == tmp_path.resolve()
    monkeypatch.delenv("COURSE_DATA")
    assert runtime.data_root() == (location.REPO_ROOT / "data").resolve()


def test_checkout_keeps_data_and_checkpoints_in_the_repository(monkeypatch, tmp_path):
    assert location.is_checkout() and runtime.DATA_COMMAND == "python data_download.py"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COURSE_CHECKPOINT_DIR", raising=False)
    assert location.default_data_root() == location.REPO_ROOT / "data"
    assert runtime.checkpoint_dir() == (location.REPO_ROOT / "checkpoints").resolve()


def test_installed_package_uses_user_data_folder_and_working_directory(monkeypatch, tmp_path):
    import platformdirs
    site = tmp_path / "site-packages"  # what REPO_ROOT is for a pip-installed package
    (site / "course_utils").mkdir(parents=True)
    monkeypatch.setattr(location, "REPO_ROOT", site)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COURSE_DATA", raising=False)
    monkeypatch.delenv("COURSE_CHECKPOINT_DIR", raising=False)
    assert not location.is_checkout()
    user_folder = Path(platformdirs.user_data_dir(location.APP_NAME, appauthor=False))
    assert location.default_data_root() == user_folder and runtime.data_root() == user_folder.resolve()
    assert runtime.checkpoint_dir() == tmp_path.resolve() / "checkpoints"
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "shared"))
    assert runtime.data_root() == (tmp_path / "shared").resolve()  # COURSE_DATA still wins


@pytest.mark.parametrize("value,expected", [("1", True), ("0", False), ("", False), ("true", True)])
def test_smoke_flag(monkeypatch, value, expected):
    monkeypatch.setenv("COURSE_SMOKE", value)
    assert runtime.is_smoke() is expected


def test_seed_everything_repeats_all_generators():
    def draw():
        gen = runtime.seed_everything(3)
        return (np.random.rand(), torch.rand(1).item(), torch.randint(0, 1000, (1,), generator=gen).item())
    assert draw() == draw()


def test_device_is_cpu_without_accelerator():
    device = runtime.get_device(verbose=False)
    assert device.type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        assert device.type in ("cpu", "mps")


def test_start_prints_banner_and_applies_smoke(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_SMOKE", "1")
    cfg = runtime.start("T", num_epochs=30, batch_size=8, lr=0.5, smoke={"num_epochs": 1})
    out = capsys.readouterr().out
    assert cfg.num_epochs == 1 and cfg.batch_size == 8 and cfg.smoke
    assert "SMOKE" in out and "device" in out and "=== T ===" in out
    monkeypatch.setenv("COURSE_SMOKE", "0")
    assert runtime.start("T", num_epochs=30, smoke={"num_epochs": 1}).num_epochs == 30


@pytest.mark.parametrize("params,word", [
    ({"batch_size": 0}, "batch_size"), ({"num_epochs": 2.5}, "num_epochs"), ({"lr": -1}, "lr"),
    ({"data_source": "web"}, "data_source"), ({"seed": -3}, "seed"), ({"head_epochs": -1}, "head_epochs"),
    ({"checkpoint_every": 1.5}, "checkpoint_every"),
    ({"seg_batch_size": 0}, "seg_batch_size")])
def test_start_rejects_bad_parameters(params, word):
    with pytest.raises(runtime.ParameterError, match=word):
        runtime.start("T", **params)


def test_check_message_names_parameters_cell():
    with pytest.raises(runtime.ParameterError, match="Parameters cell: patch too big"):
        runtime.check(False, "patch too big")
    runtime.check(True, "never raised")


def test_checkpoint_path_keyed_by_parameters(monkeypatch):
    monkeypatch.setenv("COURSE_SMOKE", "0")
    cfg = runtime.start("01a Demo", num_epochs=3, lr=0.5, checkpoint_every=1)
    path = runtime.checkpoint_path(cfg, "ae")
    assert path.parent == runtime.checkpoint_dir() and path.name.startswith("01a-demo-ae-")
    other = runtime.start("01a Demo", num_epochs=4, lr=0.5, checkpoint_every=1)
    assert runtime.checkpoint_path(other, "ae") != path
    assert runtime.checkpoint_path(runtime.start("01a Demo", num_epochs=3, checkpoint_every=0), "ae") is None
    monkeypatch.setenv("COURSE_SMOKE", "1")
    assert runtime.checkpoint_path(runtime.start("01a Demo", num_epochs=3, checkpoint_every=1), "ae") is None


def test_checkpoints_switched_off_by_environment(monkeypatch):
    monkeypatch.setenv("COURSE_SMOKE", "0")
    monkeypatch.setenv("COURSE_CHECKPOINTS", "0")
    assert runtime.checkpoint_path(runtime.start("X", num_epochs=3, checkpoint_every=1), "ae") is None


def test_every_data_source_is_checked_and_resolved_once_in_start(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    with pytest.raises(runtime.ParameterError, match="fashion_source must be one of"):
        runtime.start("T", dataset="drive", fashion_source="web", sources=dict(fashion_source="fashion_mnist"))
    with pytest.raises(runtime.ParameterError, match="data_source must be one of"):
        runtime.start("T", dataset="drive", data_source="web")
    cfg = runtime.start("T", dataset="drive", fashion_source="synthetic", sources=dict(fashion_source="fashion_mnist"))
    assert cfg.source == "synthetic" and cfg.fashion_source == "synthetic" and cfg.data_source == "auto"
    out = capsys.readouterr().out
    assert "drive: *** SYNTHETIC STAND-IN" in out and "fashion_mnist: *** SYNTHETIC STAND-IN" in out
    resolved = []
    monkeypatch.setattr(runtime, "pick_source", lambda dataset, value, root: resolved.append(dataset) or "synthetic")
    runtime.start("T", dataset="drive", fashion_source="auto", sources=dict(fashion_source="fashion_mnist"))
    assert resolved == ["drive", "fashion_mnist"]  # once each
    with pytest.raises(ValueError, match="not given"):
        runtime.start("T", sources=dict(bccd_source="bccd"))


def test_real_without_a_copy_names_the_parameter_only_in_a_notebook(monkeypatch, tmp_path):
    from course_utils.datasets import DataError, resolve_source
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    with pytest.raises(DataError, match=r"drive --from .*set bccd_source = \"synthetic\" in the parameters cell"):
        runtime.start("T", bccd_source="real", sources=dict(bccd_source="drive"))
    with pytest.raises(DataError) as error:
        resolve_source("drive", "real", tmp_path)  # what a loader (and the data command's check) says
    assert "parameters cell" not in str(error.value) and "drive --from" in str(error.value)


def test_settings_are_importable_without_the_data_layer_and_runtime_reexports_them():
    from course_utils import settings
    for name in ("ParameterError", "check", "is_smoke", "get_device", "seed_everything", "or_none", "check_ranges"):
        assert getattr(runtime, name) is getattr(settings, name)
