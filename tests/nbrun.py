"""Execute a notebook the way a student changes it: other parameter values, an edited cell, an added cell.

Tests of students' changes (issues 8 and 15) build on `run`; owners of notebooks add their exercise cases with
`replaced(old, new)` and `added_after(marker, source)`.
"""
import atexit
import copy
import os
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


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
        source = pattern.sub(lambda m, name=name, value=value: f"{name} = {value!r}{m.group(1) or ''}", source, count=1)
    return source


def _cell_with(nb, text):
    """Index of the one code cell whose source contains `text` (a test names its cell by a line it holds)."""
    found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and text in c.source]
    assert len(found) == 1, f"{len(found)} code cells contain {text!r}"
    return found[0]


def replaced(old, new):
    """A change: the student edits the cell holding `old`, writing `new` in its place."""
    def change(nb):
        i = _cell_with(nb, old)
        nb.cells[i].source = nb.cells[i].source.replace(old, new)
    return change


def added_after(marker, source):
    """A change: the student adds a code cell `source` right after the cell holding `marker`."""
    def change(nb):
        nb.cells.insert(_cell_with(nb, marker) + 1, nbformat.v4.new_code_cell(source))
    return change


def run(name, overrides=None, upto=None, timeout=600, changes=(), then=()):
    """Run notebooks/<name> (or solutions/<name> when the name says so) in a fresh kernel and return it.

    overrides: parameters-cell values; upto: stop after that cell index (before changes); changes: edits made
    with `replaced` / `added_after`; then: sources of cells run at the end in the same kernel (a student
    re-running cells after a complete run).
    """
    path = (ROOT / "solutions" / name) if name.endswith("_solutions.ipynb") else NOTEBOOKS / name
    nb = nbformat.read(path, as_version=4)
    i = parameters_index(nb)
    nb.cells[i].source = set_parameters(nb.cells[i].source, overrides or {})
    if upto is not None:
        nb.cells = nb.cells[:upto + 1]
    for change in changes:
        change(nb)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in then]
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def streams(nb, start=0):
    """Everything the cells from index `start` on printed (stdout/stderr streams)."""
    return "".join(o.get("text", "") for c in nb.cells[start:] for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


def error_of(name, overrides):
    """The error (ename, evalue) raised in the set-up cell right after the parameters cell, or None.

    The cases of one notebook share a warm kernel (started once per notebook and environment): each case runs the
    parameters cell with its values and then the set-up cell, which checks every value before it does anything.
    """
    return _SetupKernel.of(name).error_of(overrides)


class _SetupKernel:
    """A kernel that has run a notebook's cells before its parameters cell; runs parameters + set-up cells."""

    pool = {}  # (notebook, environment) -> kernel; a few at most, the oldest shut down first
    SIZE = 3

    @classmethod
    def of(cls, name):
        env = tuple(sorted((k, v) for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"))
        key = (name, env)
        if key not in cls.pool:
            while len(cls.pool) >= cls.SIZE:
                cls.pool.pop(next(iter(cls.pool))).shutdown()
            cls.pool[key] = cls(name)
        return cls.pool[key]

    def __init__(self, name, timeout=600):
        self.nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        self.index = parameters_index(self.nb)
        self.client = NotebookClient(self.nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
        self.client.km = self.client.create_kernel_manager()
        self.client.start_new_kernel()
        self.client.start_new_kernel_client()
        self.cells = copy.deepcopy(self.nb.cells[self.index:self.index + 2])  # nbclient puts run cells in self.nb
        for i in range(self.index):
            self.client.execute_cell(self.nb.cells[i], i)

    def error_of(self, overrides):
        parameters, setup = copy.deepcopy(self.cells)
        parameters.source = set_parameters(parameters.source, overrides)
        for i, cell in ((self.index, parameters), (self.index + 1, setup)):
            # errors allowed: the kernel then aborts no queued request (the next case's cells would be skipped)
            cell.metadata.setdefault("tags", []).append("raises-exception")
            self.client.execute_cell(cell, i)
            errors = [o for o in cell.outputs if o.get("output_type") == "error"]
            if errors:
                return errors[0]["ename"], errors[0]["evalue"]
        return None

    def shutdown(self):
        self.client._cleanup_kernel()

    @classmethod
    def shutdown_all(cls):
        while cls.pool:
            cls.pool.popitem()[1].shutdown()


atexit.register(_SetupKernel.shutdown_all)
