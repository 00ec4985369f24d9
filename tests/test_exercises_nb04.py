"""Notebook 04's exercise 1 done the way a student does it: the `optimizer = ...` line of the training cell
becomes Adam at lr 1e-4. After a complete run with checkpoints on, the changed notebook trains afresh (it never
resumes the SGD checkpoint), with Adam at that rate, and the self-check says so; the untouched notebook's
self-check says "not yet", and an unchanged re-run resumes."""
import re

import pytest
import test_notebook_resume
from nbrun import replaced, streams
from test_notebook_resume import completed_run

rerun = test_notebook_resume.rerun  # the fixture that re-runs against a copy of a completed run's checkpoints

NB = "04_all_idb_cam_resnet18.ipynb"
SHORT = {"num_epochs": 2, "input_size": 32, "context": 0, "decay_epochs": 0, "max_smears": 4, "checkpoint_every": 1}
SGD_LINE = "optimizer = torch.optim.SGD(trainable, lr=cfg.lr, momentum=cfg.momentum)"
ADAM_LINE = "optimizer = torch.optim.Adam(trainable, lr=1e-4)"


def _summary(text):
    return [line for line in text.splitlines() if line.startswith("train_loss=")]


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    return completed_run(tmp_path_factory, NB, SHORT)


def test_untouched_notebook_trains_sgd_and_the_check_says_not_yet(done):
    text = done[1]
    assert "| SGD, lr 0.01" in _summary(text)[0]
    check = text.split("Self-check: 04 exercise 1 (optimiser)", 1)[1]
    assert "NOT YET  the training cell's optimiser is torch.optim.Adam" in check and "hint:" in check
    assert "1e-4" not in check and "0.0001" not in check  # the check never prints the answer
    assert "all done" not in check


def test_unchanged_rerun_resumes(done, rerun):
    text = streams(rerun(done, NB, SHORT))
    assert "resumed from" in text and "holds another training" not in text
    assert _summary(text) == _summary(done[1])


def test_exercise_1_adam_trains_afresh_at_the_asked_rate(done, rerun):
    nb = rerun(done, NB, SHORT, changes=[replaced(SGD_LINE, ADAM_LINE)])
    text = streams(nb)
    refused = [line for line in text.splitlines() if "holds another training (" in line]
    assert refused and "optimiser" in refused[0] and "resumed from" not in text
    summary = _summary(text)[0]
    assert "| Adam, lr 0.0001" in summary and summary.split("|")[0] != _summary(done[1])[0].split("|")[0]
    check = text.split("Self-check: 04 exercise 1 (optimiser)", 1)[1]
    assert "NOT YET" not in check and "all done" in check
    assert re.search(r"training\s+2 epochs in \d+ s, Adam", text)  # the results table names the optimiser


def test_exercise_1_self_check_passes_on_the_solutions_state(monkeypatch):
    from nbrun import run
    monkeypatch.setenv("COURSE_SMOKE", "1")
    text = streams(run("04_all_idb_cam_resnet18_solutions.ipynb"))
    check = text.split("Self-check: 04 exercise 1 (optimiser)", 1)[1].split("all done", 1)[0]
    assert "NOT YET" not in check and check.count("OK") == 3


@pytest.mark.parametrize("name,done", [("04b_bccd_cam_real_smears.ipynb", False),
                                       ("04b_bccd_cam_real_smears_solutions.ipynb", True)])
def test_04b_platelet_self_check(monkeypatch, name, done):
    # the untouched notebook's state says "not yet" with a hint; the solution's state passes
    from nbrun import run
    monkeypatch.setenv("COURSE_SMOKE", "1")
    text = streams(run(name))
    check = text.split("Self-check: 04b exercise 1 (platelets)", 1)[1]
    assert ("NOT YET" not in check and "all done" in check) if done else ("NOT YET" in check and "hint:" in check)
    assert "Platelets" not in check  # the check never prints the answer
