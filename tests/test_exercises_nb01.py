"""Exercises of notebooks 01a and 01b done the way a student does them (issues 24 and 26).

* 01a-3 and 01b-3 are applied to the cell their text names; the notebook runs at a short schedule with
  checkpoints on, once as it is and once with the change: the change must train afresh (saying why in one
  line) and change what it should, and its self-check must pass where the unchanged run's says "not yet".
* An edited `forward` of the cell-defined `MLPAutoencoder` trains afresh with one line saying why.
* Each self-check of course_utils.checks.nb01a / nb01b passes on the solutions' state and says "not yet" on the
  untouched notebook's state (both run in smoke mode), and its items are checked on small objects.
"""
from types import SimpleNamespace

import pytest
import torch
from nbrun import replaced, run, streams
from test_notebook_resume import NB_01A, NB_01B, SHORT, SHORT_01B, completed_run, rerun  # noqa: F401 (fixture)
from torch import nn

from course_utils.checks import nb01a, nb01b
from course_utils.lessons import Classifier, MLPAutoencoder, ShallowAutoencoder

SHORT_01A = dict(SHORT, compare_lecture_batch=False)
SOL_01A = "01a_fashion_mnist_autoencoder_end_to_end_solutions.ipynb"
SOL_01B = "01b_fashion_mnist_layerwise_pretraining_solutions.ipynb"
OUTPUT_RELU = "nn.Linear(hidden, n_pixels), nn.ReLU())"
UNFREEZE = "training.set_trainable(encoder, True)"


def _lines(text, start):
    return [line for line in text.splitlines() if line.startswith(start)]


def _refusals(text):
    """The one-line reasons fit printed for checkpoints it did not resume."""
    return [line for line in text.splitlines() if "holds another training (" in line]


def _check_block(text, title):
    """The self-check's printout for one exercise: its title line up to its closing line."""
    start = text.index(f"Self-check: {title}")
    ends = [text.find(end, start) for end in ("all done", "not yet: see the hints above")]
    end = min(e for e in ends if e >= 0)
    return text[start:end + 30]


def _done(text, title):
    return "all done" in _check_block(text, title)


@pytest.fixture(scope="module")
def done_01a(tmp_path_factory):
    return completed_run(tmp_path_factory, NB_01A, SHORT_01A)


@pytest.fixture(scope="module")
def done_01b(tmp_path_factory):
    return completed_run(tmp_path_factory, NB_01B, SHORT_01B)


@pytest.fixture
def again(request):
    """The shared `rerun` (a copy of a completed run's checkpoints, a fresh kernel), returning what it printed."""
    shared = request.getfixturevalue("rerun")
    return lambda done, name, overrides, **change: streams(shared(done, name, overrides, **change))


def test_01a_exercise_3_edited_cell_trains_a_linear_output(done_01a, again):
    before = done_01a[1]
    text = again(done_01a, NB_01A, SHORT_01A, changes=[replaced(OUTPUT_RELU, "nn.Linear(hidden, n_pixels))")])
    refused = _refusals(text)
    assert len(refused) == 2 and "model structure" in refused[0]  # autoencoder; then the classifier's new start
    assert "resumed from" not in text
    assert _lines(text, "train_loss=")[0] != _lines(before, "train_loss=")[0]
    assert "output pixels that are 0 for every test image: 0 of 784" in text
    assert not _done(before, "exercise 3") and _done(text, "exercise 3")


def test_01a_edited_forward_trains_afresh_and_says_why(done_01a, again):
    edit = replaced("return self.decoder(self.encoder(x))", "return self.decoder(self.encoder(x)).clamp(max=1.0)")
    text = again(done_01a, NB_01A, SHORT_01A, changes=[edit])
    refused = _refusals(text)
    assert refused and refused[0].split("(", 1)[1].startswith("model structure changed)")
    assert "resumed from" not in text
    assert _lines(text, "train_loss=")[0] != _lines(done_01a[1], "train_loss=")[0]


def test_01a_unchanged_rerun_resumes_after_a_restart(done_01a, again):
    text = again(done_01a, NB_01A, SHORT_01A)
    assert text.count("resumed from") == 2 and not _refusals(text)
    assert _lines(text, "test accuracy") == _lines(done_01a[1], "test accuracy")


def test_01b_exercise_3_edited_cell_trains_the_head_only(done_01b, again):
    before = done_01b[1]
    text = again(done_01b, NB_01B, SHORT_01B,
                 changes=[replaced(UNFREEZE, "training.set_trainable(encoder, False)")])
    assert text.count("resumed from") == 2  # stages 1 and 2 are unchanged
    refused = _refusals(text)
    assert len(refused) == 1 and "stage-3" in refused[0] and "trainable parameters" in refused[0]
    assert "stage 3: optimiser holds 1010 of" in text and "stage 3: optimiser holds 1010 of" not in before
    assert _lines(text, "largest change of a layer-2 parameter during fine-tuning: 0.0000")
    assert _lines(text, "train_loss=")[-1] != _lines(before, "train_loss=")[-1]
    assert not _done(before, "exercise 3") and _done(text, "exercise 3")


@pytest.fixture(scope="module")
def smoke_runs():
    """Streams of the untouched notebooks and of their solutions, in smoke mode."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in dict(COURSE_SMOKE="1", COURSE_WIDGETS="0", COURSE_PROGRESS="0").items():
            env.setenv(name, value)
        return {name: streams(run(name)) for name in (NB_01A, NB_01B, SOL_01A, SOL_01B)}


@pytest.mark.parametrize("notebook, solution, title", [
    (NB_01A, SOL_01A, "exercise 3, no output ReLU"),
    (NB_01B, SOL_01B, "exercise 3, freeze during fine-tuning"),
    (NB_01B, SOL_01B, "exercise 4, a third layer"),
])
def test_self_check_passes_on_the_solution_and_not_yet_on_the_notebook(smoke_runs, notebook, solution, title):
    untouched = _check_block(smoke_runs[notebook], title)
    assert "NOT YET" in untouched and "hint:" in untouched and "not yet" in untouched
    assert "all done" in _check_block(smoke_runs[solution], title)


def test_01a_exercise_1_check(capsys):
    short = SimpleNamespace(num_epochs=5)
    assert not nb01a.exercise_1(short, {"train_loss": [0.1] * 5}, {"train_loss": [0.1] * 5})
    assert "NOT YET" in capsys.readouterr().out
    full = SimpleNamespace(num_epochs=30)
    assert not nb01a.exercise_1(full, {"train_loss": [0.1] * 5}, {"train_loss": [0.1] * 5})  # not re-run yet
    assert nb01a.exercise_1(full, {"train_loss": [0.1] * 30}, {"train_loss": [0.1] * 30})
    assert "all done" in capsys.readouterr().out


def test_01a_exercise_3_check_items(capsys):
    torch.manual_seed(0)
    net = MLPAutoencoder(8, n_pixels=12)
    recon = torch.rand(20, 12)
    recon[:, 3] = 0  # one dead output pixel
    assert not nb01a.exercise_3(net, recon)
    out = capsys.readouterr().out
    assert out.count("NOT YET") == 3 and "delete the nn.ReLU()" in out
    net.decoder = net.decoder[:-1]
    assert not nb01a.exercise_3(net, recon)  # the decoder is fixed, the reconstructions not yet re-made
    assert capsys.readouterr().out.count("NOT YET") == 1
    assert nb01a.exercise_3(net, net(torch.rand(20, 12)).detach())


def test_01b_exercise_3_check_items(capsys):
    clf = Classifier(nn.Sequential(ShallowAutoencoder(12, 6).encoder), 6)
    assert not nb01b.exercise_3(clf, {"train_loss": [0.5]})  # fine-tuning everything: the notebook as it is
    for p in clf.encoder.parameters():
        p.requires_grad_(False)
    assert not nb01b.exercise_3(clf, {"train_loss": []})
    assert nb01b.exercise_3(clf, {"train_loss": [0.5]})
    for p in clf.head.parameters():
        p.requires_grad_(False)
    assert not nb01b.exercise_3(clf, {"train_loss": [0.5]})
    assert "freeze the encoder only" in capsys.readouterr().out


def test_01b_exercise_4_check_items(capsys):
    assert not nb01b.exercise_4(None)
    two = Classifier(nn.Sequential(ShallowAutoencoder(784, 6).encoder, ShallowAutoencoder(6, 6).encoder), 6)
    assert not nb01b.exercise_4(two)
    three = Classifier(nn.Sequential(*two.encoder, ShallowAutoencoder(6, 6).encoder), 6)
    assert nb01b.exercise_4(three)
    three.encoder[0][0].weight.requires_grad_(False)
    assert not nb01b.exercise_4(three)
    assert "unfreeze" in capsys.readouterr().out
