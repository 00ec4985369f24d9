"""The `precision` parameter (issue 31): every training notebook declares it (fp32 by default), passes it to each
of its trainings, and a student who sets "bf16" gets bf16 autocast, said in the set-up cell's banner."""
import ast
from pathlib import Path

import nbformat
import pytest
from nbrun import run, streams

ROOT = Path(__file__).resolve().parent.parent
TRAINING = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if not p.name.startswith("00"))


def training_calls(nb):
    """(cell index, call source) of every training.fit / training.fit_best call in the code cells."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse("\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in cell.source.split("\n")))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in
                    ("fit", "fit_best") and isinstance(node.func.value, ast.Name) and node.func.value.id == "training"):
                found.append((i, node))
    return found


@pytest.mark.parametrize("path", TRAINING, ids=[p.name for p in TRAINING])
def test_every_training_uses_the_precision_parameter(path):
    nb = nbformat.read(path, as_version=4)
    parameters = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert 'precision = "fp32"' in parameters, f"{path.name}: no `precision = \"fp32\"` in the parameters cell"
    calls = training_calls(nb)
    assert calls, f"{path.name}: no training.fit call found"
    for i, call in calls:
        given = {k.arg: ast.unparse(k.value) for k in call.keywords}
        assert given.get("precision") == "cfg.precision", f"{path.name}, cell {i}: a training without precision="


def test_bf16_reaches_the_banner_and_the_training():
    nb = run("01a_fashion_mnist_autoencoder_end_to_end.ipynb", {"precision": "bf16", "compare_lecture_batch": False},
             then=["from course_utils import speed\n"
                   "print('dtype', speed.resolve_precision(cfg.precision, cfg.device))"])
    text = streams(nb)
    assert "precision: trainings (their validation curves included) in bf16 autocast" in text
    assert "dtype torch.bfloat16" in text
