"""Execute notebooks top to bottom in a fresh kernel (make run / make store); prints each wall time."""
import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TIMES = Path(__file__).resolve().parent.parent / "build" / "notebook_times.jsonl"


def record_time(path, seconds, ok):
    """Append one run's wall time to build/notebook_times.jsonl (read by benchmarks/run_benchmarks.py)."""
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    entry = dict(notebook=path.name, seconds=round(seconds, 1), ok=ok, smoke=os.environ.get("COURSE_SMOKE") == "1",
                 date=time.strftime("%Y-%m-%d %H:%M"), cores=os.cpu_count(), machine=platform.machine())
    with open(TIMES, "a") as f:
        f.write(json.dumps(entry) + "\n")


def has_error(nb):
    """True when any cell output is an error."""
    return any(out.get("output_type") == "error" for cell in nb.cells for out in cell.get("outputs", []))


def compact(nb):
    """Stored outputs without dead weight: no saved widget state (stored figures are the explorers' static
    fallback), opaque RGBA figures re-encoded as RGB PNG (the same pixels, about a seventh smaller)."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    nb.metadata.pop("widgets", None)
    for output in (o for cell in nb.cells for o in cell.get("outputs", [])):
        data = output.get("data", {})
        if "image/png" not in data:
            continue
        image = Image.open(io.BytesIO(base64.b64decode(data["image/png"])))
        if image.mode == "RGBA" and np.asarray(image)[..., 3].min() == 255:
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "PNG", optimize=True)
            data["image/png"] = base64.b64encode(buffer.getvalue()).decode("ascii")
    return nb


def run_one(path, out_dir=None, inplace=False, timeout=1800):
    """Run one notebook in its own folder; write it to out_dir or back in place; return seconds."""
    nb = nbformat.read(path, as_version=4)
    os.environ["COURSE_PROGRESS"] = "0"  # no progress widgets in stored outputs
    os.environ["COURSE_WIDGETS"] = "0"  # explorers draw their static figure
    os.environ["COURSE_CHECKPOINTS"] = "0"  # a stored run trains from scratch, never resumes
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    finally:
        seconds = time.perf_counter() - start
        target = path if inplace else Path(out_dir) / path.name
        if inplace and has_error(nb):
            target = Path(out_dir or "build/notebooks") / path.name  # keep the good stored copy
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(compact(nb), target)
        record_time(path, seconds, not has_error(nb))
        print(f"{path.name}: {seconds:.1f} s -> {target}", flush=True)
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", default="build/notebooks", help="folder for executed copies")
    parser.add_argument("--inplace", action="store_true", help="store outputs in the notebooks themselves")
    args = parser.parse_args(argv)
    failed = []
    for path in args.notebooks:
        try:
            run_one(path.resolve(), args.out, args.inplace)
        except Exception as error:  # report every notebook, then fail
            print(f"{path.name}: FAILED: {type(error).__name__}: {str(error)[-2000:]}", file=sys.stderr)
            failed.append(path.name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
