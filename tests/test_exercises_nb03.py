"""Notebook 03's exercises done the way a student does them (issues 24 and 26).

Exercise 1 edits the SegNet cell: the notebook runs with checkpoints on, once as it is and once with the
solution's two-stage SegNet pasted into that cell; the changed network must train afresh (the checkpoint says
why), print another parameter count and pass the self-check, while the U-Net, which the change does not touch,
resumes. The self-checks of exercises 1 and 2 pass on the solutions' networks and say "not yet" on the
notebook's.
"""
import re

import nbformat
import pytest
import torch
import torch.nn.functional as F
from nbrun import NOTEBOOKS, ROOT, replaced, streams
from test_notebook_resume import completed_run, rerun  # noqa: F401  (rerun is a fixture)
from torch import nn

from course_utils import lessons
from course_utils.checks import nb03

NB_03 = "03_drive_segnet_unet.ipynb"
SOLUTIONS_03 = ROOT / "solutions" / "03_drive_segnet_unet_solutions.ipynb"
SHORT_03 = {"num_crops": 2, "crop_size": 64, "segnet_epochs": 1, "unet_epochs": 1, "num_val_images": 1,
            "num_test_images": 1, "data_source": "synthetic", "checkpoint_every": 1}


def _code_cell(path, text):
    """Source of the one code cell of a notebook that contains `text`."""
    found = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code" and text in c.source]
    assert len(found) == 1, f"{len(found)} code cells of {path.name} contain {text!r}"
    return found[0]


def solution_class(name):
    """A network class the solutions notebook defines, built from its cell's source."""
    namespace = {"nn": nn, "F": F, "torch": torch, "lessons": lessons}
    exec(_code_cell(SOLUTIONS_03, f"class {name}("), namespace)
    return namespace[name]


def segnet_cell_edit():
    """Exercise 1 as a student does it: the SegNet cell's class replaced by the solution's two-stage network."""
    cell = _code_cell(NOTEBOOKS / NB_03, "class SegNet(nn.Module):")
    one_stage = cell[cell.index("class SegNet(nn.Module):"):]
    two_stage = _code_cell(SOLUTIONS_03, "class TwoStageSegNet(")
    two_stage = two_stage[two_stage.index("class TwoStageSegNet("):].replace("class TwoStageSegNet(", "class SegNet(")
    return replaced(one_stage, two_stage)


def _lines(text, start):
    return [line for line in text.splitlines() if line.startswith(start)]


def _losses(text, net):
    """The losses a network's training summary printed ("SegNet: train_loss=0.41, val_loss=0.39, time=...")."""
    return [re.findall(r"\w+_loss=[\d.]+", line) for line in _lines(text, f"{net}: train_loss=")]


@pytest.fixture(scope="module")
def done_03(tmp_path_factory):
    return completed_run(tmp_path_factory, NB_03, SHORT_03)


def test_03_unchanged_rerun_resumes_both_networks(done_03, rerun):  # noqa: F811
    text = streams(rerun(done_03, NB_03, SHORT_03))
    assert text.count("resumed from") == 2 and "holds another training" not in text
    for net in ("SegNet", "U-Net"):
        assert _losses(text, net) == _losses(done_03[1], net) != []


def test_03_exercise_1_two_stage_segnet_trains_afresh(done_03, rerun):  # noqa: F811
    text = streams(rerun(done_03, NB_03, SHORT_03, changes=[segnet_cell_edit()]))
    before = done_03[1]
    refused = [line for line in text.splitlines() if "holds another training (" in line]
    assert len(refused) == 1 and "-segnet-" in refused[0] and "model structure" in refused[0]
    assert text.count("resumed from") == 1 and "-unet-" in _lines(text, "resumed from")[0]  # the U-Net is untouched
    assert _lines(text, "trainable parameters:")[0] != _lines(before, "trainable parameters:")[0]
    assert _losses(text, "SegNet") != _losses(before, "SegNet")
    assert _losses(text, "U-Net") == _losses(before, "U-Net") != []
    after_check = text[text.index("Self-check: exercise 1"):]
    assert "all done" in after_check.split("Self-check: exercise 2")[0]
    assert "NOT YET" in before[before.index("Self-check: exercise 1"):].split("Self-check: exercise 2")[0]


def test_exercise_1_check_passes_on_the_solution_and_not_on_the_notebook(capsys):
    assert nb03.exercise_1(solution_class("TwoStageSegNet")()) is True
    assert "NOT YET" not in capsys.readouterr().out
    assert nb03.exercise_1(lessons.SegNet()) is False
    out = capsys.readouterr().out
    assert "NOT YET  two max-pooling stages" in out and "hint:" in out


def test_exercise_1_check_catches_a_wrong_stride_and_a_lost_size(capsys):
    net = solution_class("TwoStageSegNet")()
    net.stride = 2  # two poolings, but whole images would be padded to a multiple of 2 only
    assert nb03.exercise_1(net) is False
    assert "NOT YET  `stride`" in capsys.readouterr().out

    class NoSizes(lessons.SegNet):  # two stages, but the unpoolings are not told the sizes: odd maps shrink
        stride = 4

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x, i1 = self.pool(x)
            x, i2 = self.pool(x[:, :, :-1])
            x = self.unpool(self.unpool(x, i2), i1)
            return self.conv2(x)

    assert nb03.exercise_1(NoSizes()) is False
    assert "NOT YET  the output keeps the input's size" in capsys.readouterr().out


def test_exercise_2_check_passes_on_the_solution_and_not_on_the_notebook(capsys):
    assert nb03.exercise_2(solution_class("InterpolatingSegNet")()) is True
    assert nb03.exercise_2(lessons.SegNet()) is False
    assert "NOT YET  no max-unpooling left" in capsys.readouterr().out
