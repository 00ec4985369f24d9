"""Each notebook's first markdown cell states its default run time (issue 31): "**Run time:** under N minute(s)",
checked against the stored run's own timing (nbclient's metadata: first code cell started to last cell done).
The run must have taken at most N minutes and more than N - 1, so the sentence is true and not stale."""
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
spec = importlib.util.spec_from_file_location("run_benchmarks", ROOT / "benchmarks" / "run_benchmarks.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
STATEMENT = re.compile(r"\*\*Run time:\*\* under (\d+) minutes? at the default settings on a 2-core laptop CPU")


def stated_minutes(nb):
    """N of the first markdown cell's run-time sentence, or None."""
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    m = STATEMENT.search(first.source)
    return int(m.group(1)) if m else None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_first_markdown_cell_states_the_stored_run_time(path):
    minutes = stated_minutes(nbformat.read(path, as_version=4))
    assert minutes is not None, f"{path.name}: the first markdown cell has no '**Run time:** under N minutes ...'"
    seconds, _ = bench.stored_run_seconds(path)
    assert seconds is not None, f"{path.name}: the stored outputs carry no timing metadata"
    assert (minutes - 1) * 60 < seconds <= minutes * 60, (
        f"{path.name} says under {minutes} min, its stored run took {seconds:.0f} s: write under "
        f"{max(1, -(-int(seconds) // 60))} minutes")


def test_statement_is_read_and_a_stale_one_is_caught():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# t\n\n**Run time:** under 3 minutes at the default settings on a "
                                              "2-core laptop CPU (the run stored with these outputs).")]
    assert stated_minutes(nb) == 3
    nb.cells[0].source = "# t\n\nRuns in about 3 min."
    assert stated_minutes(nb) is None
