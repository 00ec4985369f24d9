"""GPU check: the unit tests (they include precision="auto" training on CUDA: bf16, and fp16 with a gradient scaler,
tests/test_speed.py), then every notebook and solution in smoke mode, on the CUDA device.

Run it on a machine with an NVIDIA GPU (`python scripts/gpu_check.py`; `--all` adds the test modules that
execute whole notebooks). Each notebook must run without an error and its banner must name the CUDA device.
Prints one line per notebook and a summary; exits non-zero on any failure.
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_TESTS = ["test_students_changes.py", "test_notebook_resume.py", "test_devices.py", "test_browser.py",
                  "test_solutions_floors.py", "test_nb_fashion_floors.py", "test_nb_drive_patch_real.py",
                  "test_nb_segmentation_real.py"]


def unit_tests(everything):
    """Run pytest on tests/ (without the modules that execute notebooks unless `everything`); return its code."""
    ignore = [] if everything else [f"--ignore=tests/{name}" for name in NOTEBOOK_TESTS]
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "tests", *ignore], cwd=ROOT)


def run_notebook(path, timeout):
    """Execute one notebook in its own folder; return (ok, seconds, message)."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except Exception as error:  # the cell error, shortened
        return False, time.perf_counter() - start, str(error).strip().splitlines()[-1][:300]
    streams = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "stream"]
    text = "".join(o.get("text", "") for o in streams)
    uses_cfg = "runtime.start(" in "".join(c.source for c in nb.cells)
    if uses_cfg and "device : cuda" not in text:
        return False, time.perf_counter() - start, "the banner does not name the CUDA device"
    return True, time.perf_counter() - start, "ok"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--all", action="store_true", help="also the test modules that execute notebooks")
    parser.add_argument("--no-unit", action="store_true", help="notebooks only")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per notebook")
    args = parser.parse_args(argv)
    import torch
    if not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device here (torch.cuda.is_available() is False); run it on a GPU machine")
    print(f"CUDA device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}", flush=True)
    os.environ.update(COURSE_SMOKE="1", COURSE_WIDGETS="0", COURSE_PROGRESS="0", COURSE_CHECKPOINTS="0")
    failed = []
    if not args.no_unit and unit_tests(args.all) != 0:
        failed.append("unit tests")
    paths = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))
    for path in paths:
        ok, seconds, message = run_notebook(path, args.timeout)
        print(f"{'OK  ' if ok else 'FAIL'} {path.relative_to(ROOT)}: {seconds:.1f} s {'' if ok else message}",
              flush=True)
        if not ok:
            failed.append(str(path.relative_to(ROOT)))
    print("gpu_check: " + ("all passed" if not failed else "FAILED: " + ", ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
