"""A kernel restart mid-lab loses at most `checkpoint_every` epochs: re-running 01a resumes (issue 8)."""
from nbrun import run
from course_utils import runtime

SETTINGS = {"num_epochs": 2, "n_train": 3000, "n_val": 500, "seed": 12345, "checkpoint_every": 1}


def _streams(nb):
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "stream")


def test_rerun_resumes_from_checkpoints(monkeypatch):
    monkeypatch.setenv("COURSE_SMOKE", "0")
    monkeypatch.setenv("COURSE_WIDGETS", "0")
    monkeypatch.setenv("COURSE_PROGRESS", "0")
    before = set((runtime.REPO_ROOT / "checkpoints").glob("*.pt"))
    try:
        first = _streams(run("01a_fashion_mnist_autoencoder_end_to_end.ipynb", SETTINGS))
        second = _streams(run("01a_fashion_mnist_autoencoder_end_to_end.ipynb", SETTINGS))
    finally:
        for path in set((runtime.REPO_ROOT / "checkpoints").glob("*.pt")) - before:
            path.unlink()
    assert "resumed" not in first
    assert second.count("resumed from") == 2  # autoencoder and classifier stages
    loss = [line for line in first.splitlines() if line.startswith("train_loss=")][0].split(",")[0]
    assert loss in second  # the restored history is the one the first run trained
