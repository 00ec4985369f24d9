"""Execute a notebook with changed parameters-cell values (tests of students' changes, issue 8)."""
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def parameters_index(nb):
    """Index of the cell tagged `parameters`."""
    for i, cell in enumerate(nb.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    raise AssertionError("no cell tagged 'parameters'")


def set_parameters(source, overrides):
    """Replace `name = value` lines of a parameters cell; every name must already be there."""
    for name, value in overrides.items():
        pattern = re.compile(rf"^{name}\s*=.*?(\s*#.*)?$", re.MULTILINE)
        assert pattern.search(source), f"parameter {name} not in the parameters cell"
        source = pattern.sub(lambda m: f"{name} = {value!r}{m.group(1) or ''}", source, count=1)
    return source


def run(name, overrides, upto=None, timeout=600):
    """Run notebooks/<name> with overrides, optionally only up to cell index `upto`; return the notebook."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    i = parameters_index(nb)
    nb.cells[i].source = set_parameters(nb.cells[i].source, overrides)
    if upto is not None:
        nb.cells = nb.cells[:upto + 1]
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def error_of(name, overrides):
    """The error (ename, evalue) raised in the set-up cell right after the parameters cell, or None."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    try:
        run(name, overrides, upto=parameters_index(nb) + 1)
    except CellExecutionError as error:
        return error.ename, error.evalue
    return None
