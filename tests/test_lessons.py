"""lessons.py equals the notebooks' #@save cells, imports, and refuses saved cells that run code."""
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import save_lessons  # noqa: E402


def test_generated_module_matches_the_saved_cells():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "save_lessons.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_module_imports():
    lessons = importlib.import_module("course_utils.lessons")
    assert "scripts/save_lessons.py" in lessons.__doc__


def _notebook(tmp_path, cells):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": s, "metadata": {}} for s in cells]}))
    return path


def test_an_edited_saved_cell_changes_the_module(tmp_path, monkeypatch):
    monkeypatch.setattr(save_lessons, "REPO", tmp_path)
    before = save_lessons.generate([_notebook(tmp_path, ["#@save\ndef f():\n    return 1\n", "print(2)"])])
    after = save_lessons.generate([_notebook(tmp_path, ["#@save\ndef f():\n    return 2\n", "print(2)"])])
    assert "return 1" in before and "print(2)" not in before
    assert "return 2" in after and before != after
    assert "# ---- from nb.ipynb, cell 0 ----" in before


def test_a_saved_cell_that_runs_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(save_lessons, "REPO", tmp_path)
    with pytest.raises(SystemExit, match=r"nb.ipynb, cell 0, line 3: a #@save cell may only define names"):
        save_lessons.generate([_notebook(tmp_path, ["#@save\nx = 1\nprint(x)\n"])])
