"""Notebook 04 picks its recipe by what is available: ImageNet weights in the torch hub cache mean the lecture's
fine-tuning recipe, none mean the from-scratch one; weights = "imagenet" without them stops in the set-up cell;
lecture_schedule = True runs the lecture's recipe with its preprocessing (inputs / 255, no ImageNet normalisation)."""
import nbformat
import pytest
import torch
import torchvision
from nbrun import NOTEBOOKS, error_of, parameters_index, run

from course_utils import cam

NOTEBOOK = "04_all_idb_cam_resnet18.ipynb"


def output_text(nb):
    """Every stream and text output of an executed notebook, joined."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") + out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.fixture
def smoke(monkeypatch):
    monkeypatch.setenv("COURSE_SMOKE", "1")


@pytest.fixture
def fake_imagenet(tmp_path, monkeypatch):
    """A TORCH_HOME whose hub cache holds a file with exactly torchvision's ResNet-18 keys and shapes (random
    values)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    path = cam.cached_weights_path()
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18().state_dict(), path)
    return path


@pytest.fixture
def no_imagenet(tmp_path, monkeypatch):
    """An empty TORCH_HOME on a machine that cannot download the weights."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    if cam.host_reachable(url):
        pytest.skip("this machine can download the ImageNet weights, so 'imagenet' cannot be refused here")
    return cam.cached_weights_path()


def test_cached_weights_choose_the_fine_tuning_recipe(smoke, fake_imagenet):
    text = output_text(run(NOTEBOOK, {}))
    assert f"FINE-TUNING the ImageNet weights (loaded from {fake_imagenet})" in text
    assert "recipe='fine-tuning'" in text and "ResNet-18 from the ImageNet weights: training 11,177,538" in text
    assert "input_size=32" in text and "lr=0.001" in text  # smoke crops; the lecture's learning rate
    assert "FROM SCRATCH" not in text and "cannot be downloaded" not in text
    assert "fine-tuning (weights = 'auto'" in text  # the results table names the recipe that ran
    assert "(ImageNet-normalised)" in text


def test_lecture_schedule_runs_the_lectures_recipe_and_preprocessing(smoke, fake_imagenet):
    text = output_text(run(NOTEBOOK, {"lecture_schedule": True, "augment": True, "lr": 0.05}))
    assert "THE LECTURE'S RECIPE" in text and "divided by 255 only" in text
    assert "lr=0.001" in text and "augment=False" in text and "context=0" in text  # the lecture's values win
    line = next(line for line in text.splitlines() if line.startswith("per-channel mean of X_train"))
    means = [float(v) for v in line.split("[")[1].split("]")[0].split()]
    assert len(means) == 3 and all(0 < m < 1 for m in means)  # pixels / 255, not ImageNet-normalised


def test_no_weights_choose_the_from_scratch_recipe(smoke, no_imagenet):
    setup = parameters_index(nbformat.read(NOTEBOOKS / NOTEBOOK, as_version=4)) + 1
    text = output_text(run(NOTEBOOK, {}, upto=setup))  # up to the set-up cell
    assert "recipe='from scratch'" in text and "lr=0.01" in text
    assert f"the ImageNet weights are not in {no_imagenet}" in text


@pytest.mark.parametrize("overrides", [{"weights": "imagenet"}, {"lecture_schedule": True}])
def test_required_weights_missing_stop_in_the_set_up_cell(smoke, no_imagenet, overrides):
    ename, evalue = error_of(NOTEBOOK, overrides)
    assert ename == "ParameterError"
    assert str(no_imagenet) in evalue and "resnet18-f37072fd.pth" in evalue and "download.pytorch.org" in evalue
