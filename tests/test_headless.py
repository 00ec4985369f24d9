"""Headless runs (issue 30 item 7): every notebook with an explorer finishes under `jupyter nbconvert --execute`
with the default environment (no COURSE_WIDGETS), in smoke mode, several times in a row, and its explorer cells
draw the static figure instead of a widget (nbclient's widget race, jupyter/nbclient#312, never comes up)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXPLORER_NOTEBOOKS = ["01a_fashion_mnist_autoencoder_end_to_end.ipynb", "02_drive_patch_autoencoder.ipynb",
                      "03_drive_segnet_unet.ipynb", "04_all_idb_cam_resnet18.ipynb"]
REPEATS = int(os.environ.get("COURSE_HEADLESS_REPEATS", "2"))  # several runs each; raise it to hunt a rare hang
TIMEOUT = 300  # seconds for one smoke run: a hang fails here instead of blocking the suite
FRONTEND_VARIABLES = ("JPY_SESSION_NAME", "VSCODE_PID", "COURSE_WIDGETS")


def headless_env():
    """The environment an instructor's `nbconvert --execute` or papermill run has: smoke mode, nothing else set."""
    env = {k: v for k, v in os.environ.items() if k not in FRONTEND_VARIABLES}
    env.update(COURSE_SMOKE="1", COURSE_CHECKPOINTS="0", PYTHONPATH=str(ROOT))
    return env


def explorer_cells(nb):
    """The code cells that call a widgets explorer."""
    calls = ("widgets.threshold_explorer(", "widgets.tiling_explorer(", "widgets.reconstruction_browser(",
             "widgets.cam_explorer(")
    return [c for c in nb["cells"] if c["cell_type"] == "code" and any(k in "".join(c["source"]) for k in calls)]


@pytest.mark.parametrize("repeat", range(REPEATS))
@pytest.mark.parametrize("name", EXPLORER_NOTEBOOKS)
def test_nbconvert_execute_finishes_with_static_explorers(name, repeat, tmp_path):
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--execute", "--to", "notebook",
               "--output-dir", str(tmp_path), "--ExecutePreprocessor.timeout=240", str(ROOT / "notebooks" / name)]
    try:
        done = subprocess.run(command, env=headless_env(), cwd=ROOT / "notebooks", capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name} did not finish headless within {TIMEOUT} s (run {repeat + 1}): a hang")
    assert done.returncode == 0, done.stderr[-3000:]
    nb = json.loads((tmp_path / name).read_text(encoding="utf-8"))
    cells = explorer_cells(nb)
    assert cells, f"{name} has no explorer cell"
    for cell in cells:
        kinds = [kind for o in cell["outputs"] for kind in o.get("data", {})]
        assert "image/png" in kinds, f"{name}: an explorer cell drew no static figure"
        assert "application/vnd.jupyter.widget-view+json" not in kinds, f"{name}: a live widget in a headless run"
