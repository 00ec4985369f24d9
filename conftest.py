"""Test-wide settings: smoke schedules for unit tests and for the nbval kernels they start.

The nbval run of every notebook and solution is also the device check of tests/test_devices.py: its kernels start
with the stand-in device of tests/standin_device.py (an IPython startup file), so a module or tensor a cell leaves
on the CPU fails there as it would on a GPU, and each set-up cell must report the stand-in device.
"""
import functools
import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("COURSE_SMOKE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
STAND_IN_BANNER = "STAND-IN device"


def _nbval_cell(item):
    return type(item).__name__ == "IPyNbCell"


@functools.cache
def _stand_in_ipython_dir():
    """One IPython folder per test process whose startup file switches the stand-in device on; (the temporary
    folder, kept alive with the cache, and the IPython folder in it)."""
    import standin_device
    tmp = tempfile.TemporaryDirectory(prefix="course-standin-")
    return tmp, str(standin_device.startup_folder(Path(tmp.name) / "ipython"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """nbval starts a notebook's kernel in the set-up of its first cell: give that kernel the stand-in device."""
    if not _nbval_cell(item) or item.parent.kernel is not None:
        yield
        return
    before = os.environ.get("IPYTHONDIR")
    os.environ["IPYTHONDIR"] = _stand_in_ipython_dir()[1]
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("IPYTHONDIR", None)
        else:
            os.environ["IPYTHONDIR"] = before


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A set-up cell (the one calling runtime.start) must print that its kernel runs on the stand-in device."""
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not report.passed or not _nbval_cell(item) or "runtime.start(" not in item.cell.source:
        return
    printed = "".join(o.get("text", "") for o in (item.test_outputs or []) if o.get("output_type") == "stream")
    if STAND_IN_BANNER not in printed:
        report.outcome = "failed"
        report.longrepr = (f"{item.fspath}: the set-up cell did not report the {STAND_IN_BANNER} "
                           "(tests/standin_device.py): its kernel ran without it, so this notebook's device check "
                           "did not happen")
