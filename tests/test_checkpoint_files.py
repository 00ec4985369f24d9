"""Checkpoint files on a shared hub (issue 30, items 1 and 2): two kernels writing one checkpoint both finish and
leave a readable file; a file that is not a checkpoint is set aside as `.bad` with one line and the stage trains."""
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from course_utils import checkpoints, training

ROOT = Path(__file__).resolve().parent.parent
EPOCHS = 4
REPETITIONS = 10

# One process of the race: for each repetition, wait until the other process is ready, then train the same
# stage (same seed, same checkpoint path) saving after every epoch; print the final weights' sum per repetition.
WRITER = """
import sys, time
from pathlib import Path
import torch
from torch import nn
from course_utils import training
folder, me, other, repetitions, epochs = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(1)
gen = torch.Generator().manual_seed(0)
X = torch.rand(256, 64, generator=gen)
y = (X[:, :32].sum(1) > X[:, 32:].sum(1)).long()
def wait_for(rep):
    deadline = time.time() + 30
    while not (folder / f"ready-{rep}-{other}").exists() and not (folder / f"exit-{other}").exists():
        if time.time() > deadline:
            raise SystemExit(f"{me}: the other process never got ready for repetition {rep}")
        time.sleep(0.002)
try:
    for rep in range(repetitions):
        (folder / f"ready-{rep}-{me}").touch()
        wait_for(rep)
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 2))
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        history = training.fit(net, training.TensorLoader(X, y, 16, seed=0), nn.CrossEntropyLoss(), optimizer,
                               epochs, "cpu", checkpoint=folder / f"stage-{rep}.pt", checkpoint_every=1)
        print(rep, len(history["train_loss"]), repr(sum(p.sum().item() for p in net.parameters())), flush=True)
finally:
    (folder / f"exit-{me}").touch()  # the other process stops waiting for this one
"""


def test_two_processes_training_one_stage_both_finish_and_leave_a_good_file(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    args = [str(tmp_path), str(REPETITIONS), str(EPOCHS)]
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), me, other, *args[1:]], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for me, other in (("a", "b"), ("b", "a"))]
    results = [p.communicate(timeout=240) + (p.returncode,) for p in procs]
    crashes = [err[-2000:] for _, err, code in results if code != 0]
    assert not crashes, crashes
    finals = [dict((int(line.split()[0]), line.split()[1:]) for line in out.splitlines() if line[:1].isdigit())
              for out, _, _ in results]
    for rep in range(REPETITIONS):
        state = checkpoints.read(tmp_path / f"stage-{rep}.pt")  # not corrupt: reads as a checkpoint
        assert state["epoch"] == EPOCHS and len(state["history"]["train_loss"]) == EPOCHS
        saved = sum(t.sum().item() for name, t in state["model"].items())
        assert finals[0][rep] == finals[1][rep] == [str(EPOCHS), repr(saved)]  # both trained it; the file is theirs
    assert not list(tmp_path.glob("*tmp*")) and not list(tmp_path.glob("*.bad"))
    # a process that starts its repetition after the other saved an epoch may resume that identical training:
    # allowed, it ends with the same weights (asserted above), as a second kernel of the same notebook would


def test_each_writer_uses_its_own_temporary_file(tmp_path, monkeypatch):
    names = []
    real_save = torch.save
    monkeypatch.setattr(torch, "save", lambda state, path: (names.append(Path(path).name), real_save(state, path)))
    checkpoints.save(tmp_path / "c.pt", {"x": 1})
    checkpoints.save(tmp_path / "c.pt", {"x": 2})
    assert len(set(names)) == 2 and all(n.startswith(f".c.pt.tmp-{os.getpid()}-") for n in names)
    assert checkpoints.torch.load(tmp_path / "c.pt", weights_only=True) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def _problem():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(96, 4, generator=gen)
    return X, (X[:, 0] > 0).long()


def _fit(ckpt, epochs=2):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    X, y = _problem()
    return training.fit(net, training.TensorLoader(X, y, 32, seed=0), nn.CrossEntropyLoss(),
                        torch.optim.SGD(net.parameters(), lr=0.1), epochs, "cpu", checkpoint=ckpt, checkpoint_every=1)


class Payload:
    """Unpickling this runs code: it opens (creates) the file `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _truncated(path):
    _fit(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty(path):
    path.write_bytes(b"")


def _bare_tensor(path):
    torch.save(torch.zeros(3), path)


def _malicious(path):
    torch.save({"model": Payload(path.with_name("ran")), "epoch": 1}, path)


def _plain_pickle(path):
    path.write_bytes(pickle.dumps({"model": Payload(path.with_name("ran"))}))


def _other_dict(path):
    torch.save({"weights": torch.zeros(2)}, path)


BROKEN = {  # how the file is broken -> words the one line must contain
    "truncated": (_truncated, "truncated"),
    "empty": (_empty, "empty (0 bytes)"),
    "bare tensor": (_bare_tensor, "holds a Tensor, not a training checkpoint"),
    "malicious pickle": (_malicious, "Python objects other than weights"),
    "plain pickle": (_plain_pickle, "Python objects other than weights"),
    "other dict": (_other_dict, "without the entries model, optimizer, epoch, history"),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_unreadable_checkpoint_is_set_aside_with_one_line_and_the_stage_trains(kind, tmp_path, capsys):
    ckpt = tmp_path / "stage.pt"
    make, what = BROKEN[kind]
    make(ckpt)
    capsys.readouterr()
    broken = ckpt.read_bytes()
    history = _fit(ckpt)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if str(ckpt) in line]
    assert len(lines) == 1, out
    assert what in lines[0] and "set aside as stage.pt.bad" in lines[0]
    assert "training this stage from scratch" in lines[0]
    assert "weights_only" not in out
    assert not (tmp_path / "ran").exists()  # the payload never ran
    assert (tmp_path / "stage.pt.bad").read_bytes() == broken  # kept, not lost
    assert len(history["train_loss"]) == 2 and checkpoints.read(ckpt)["epoch"] == 2  # trained afresh, new file
    assert "resumed from" in (_fit(ckpt), capsys.readouterr().out)[1]  # the new file resumes


def test_a_second_unreadable_file_keeps_the_first_one_set_aside(tmp_path, capsys):
    ckpt = tmp_path / "stage.pt"
    for content in (b"", b"junk"):
        ckpt.write_bytes(content)
        _fit(ckpt, epochs=1)
    assert (tmp_path / "stage.pt.bad").read_bytes() == b"" and (tmp_path / "stage.pt.2.bad").read_bytes() == b"junk"
    assert "set aside as stage.pt.2.bad" in capsys.readouterr().out
