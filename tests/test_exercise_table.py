"""solutions/README.md's exercise table is the one scripts/exercise_table.py builds from the stored notebooks."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import exercise_table  # noqa: E402


def test_the_readme_table_matches_the_stored_runs():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "exercise_table.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _cell(kind, source, start=None, end=None):
    meta = {} if start is None else {"execution": {"iopub.execute_input": start, "shell.execute_reply": end}}
    return {"cell_type": kind, "source": source, "metadata": meta}


def test_sections_add_up_each_exercise_and_its_continuation():
    cells = [_cell("code", "setup", "2026-01-01T00:00:00Z", "2026-01-01T00:00:05Z"),
             _cell("markdown", "## Exercise 2 · Two"),
             _cell("code", "a", "2026-01-01T00:00:05Z", "2026-01-01T00:01:05Z"),
             _cell("markdown", "## Exercise 1 · One"),
             _cell("code", "b", "2026-01-01T00:01:05Z", "2026-01-01T00:01:15Z"),
             _cell("markdown", "## Exercise 2, continued · Two again\n"),
             _cell("code", "c", "2026-01-01T00:01:15Z", "2026-01-01T00:01:45Z"),
             _cell("markdown", "## Exercise 3 (optional, open-ended) · Three\n## Run time"),
             _cell("code", "print(total)", "2026-01-01T00:01:45Z", "2026-01-01T00:01:46Z")]
    found, shared = exercise_table.sections(cells)
    assert found == {2: ("Two", None, 90.0, 2), 1: ("One", None, 10.0, 1),
                     3: ("Three", "optional, open-ended", 0.0, 0)}
    assert shared == 6.0


def test_self_checks_are_read_from_the_lab_cells(tmp_path):
    lab = tmp_path / "lab.ipynb"
    lab.write_text(json.dumps({"cells": [_cell("code", "x = 1"), _cell("code", "nb09.exercise_2(net)"),
                                         _cell("markdown", "nb09.exercise_3(net) is described here")]}))
    assert exercise_table.self_checks(lab) == {2}
