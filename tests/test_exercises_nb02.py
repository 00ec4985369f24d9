"""Notebook 02's exercises by editing its cells (issues 24 and 26): each self-check cell says "not yet" on the
untouched notebook and "all done" once the cells are changed as the solutions change them (smoke mode)."""
import re

import pytest
from nbrun import replaced, run

NAME = "02_drive_patch_autoencoder.ipynb"
SOLVED_PARAMETERS = dict(patch_h=31, patch_w=31, ae_epochs=5, head_epochs=60, tile_stride=8,  # exercise 1
                         sample_in_fov=False,  # exercise 3
                         batch_size=16)  # smoke: 13 batches an epoch, so exercise 2's step size is in batches
SOLVED_CELLS = (
    replaced("scheduler = None  # exercise 2: a torch.optim.lr_scheduler.StepLR(optimizer, ...) here",
             "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=len(loader), gamma=0.5)"),
    replaced("train_threshold = None  # exercise 4: the threshold with the best F1 on the training images",
             "train_probs = [patches.predict_image(seg, c.image, patch, stride=chosen_stride, device=cfg.device)\n"
             "               for c in train_cases]\n"
             "train_threshold, _ = metrics.best_threshold(train_probs, [c.vessels for c in train_cases],\n"
             "                                            [c.fov for c in train_cases])"),
)


def check_verdicts(nb):
    """{exercise number: the check's output} for every self-check cell of a run notebook."""
    verdicts = {}
    for cell in nb.cells:
        text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        found = re.search(r"Self-check: exercise (\d+)", text)
        if cell.cell_type == "code" and found:
            verdicts[int(found.group(1))] = text
    return verdicts


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Smoke mode, checkpoints off (the exercises' runs must train, never resume)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("COURSE_SMOKE", "1")
    mp.setenv("COURSE_CHECKPOINTS", "0")
    yield
    mp.undo()


def test_checks_say_not_yet_on_the_untouched_notebook(smoke):
    verdicts = check_verdicts(run(NAME))
    assert sorted(verdicts) == [1, 2, 3, 4]
    for number, text in verdicts.items():
        assert "NOT YET" in text and "hint:" in text and "all done" not in text, (number, text)


def test_checks_pass_once_the_cells_are_changed(smoke):
    verdicts = check_verdicts(run(NAME, SOLVED_PARAMETERS, changes=SOLVED_CELLS))
    assert sorted(verdicts) == [1, 2, 3, 4]
    for number, text in verdicts.items():
        assert "all done" in text and "NOT YET" not in text, (number, text)


def test_a_half_done_exercise_is_not_yet(smoke):
    """Exercise 2 with the step size in epochs instead of batches (13 batches an epoch), exercise 4 with a
    threshold that is not the training images' best."""
    half = (replaced("scheduler = None  # exercise 2: a torch.optim.lr_scheduler.StepLR(optimizer, ...) here",
                     "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.head_epochs, gamma=0.5)"),
            replaced("train_threshold = None  # exercise 4: the threshold with the best F1 on the training images",
                     "train_threshold = 0.505"))  # off the 0.01 grid: never the best-F1 threshold
    verdicts = check_verdicts(run(NAME, dict(batch_size=16), changes=half))
    assert "step_size is counted in batches" in verdicts[2].split("NOT YET", 1)[1].split("\n")[0]
    assert "NOT YET  it is the best-F1 threshold" in verdicts[4]
