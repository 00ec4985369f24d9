"""bf16 against fp32 on the labs' data: every training notebook's default run with `precision = "bf16"`, its run
time and key figures next to the stored fp32 run. Writes benchmarks/precision.md.

    python benchmarks/precision_runs.py              # every training notebook (about 10 minutes on 2 cores)
    python benchmarks/precision_runs.py 03 05        # some of them
    python benchmarks/precision_runs.py --smoke 01a  # a few seconds: proves the script runs (numbers mean nothing)
    python benchmarks/precision_runs.py 03 --precision fp32 --threads 1 --out benchmarks/threads.md
                                                     # the same fp32 run with another thread count

Run it on the machine and in the session that stored the notebooks, so that both columns come from one machine.
The fp32 column is read from the stored outputs (figures as printed, time from nbclient's timing metadata); the
bf16 runs start from scratch (no checkpoints) in a fresh kernel, with the notebook's other parameters unchanged.
"""
import argparse
import copy
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from run_benchmarks import machine, stored_run_seconds  # noqa: E402

NUMBER = r"(\d+(?:\.\d+)?)"
TEST_TABLE_05 = r"^20 official test images; vessel class.*\n(?:.*\n)*?.*"  # 05's test table, its longer run's row
FIGURES = {  # notebook prefix -> (figure, regex on the printed text whose first group is the figure)
    "01a": [("test accuracy, %", r"test accuracy \(lecture: 82\.4 %\)\s+" + NUMBER + "%")],
    "01b": [("layer-wise test accuracy, %", r"layer-wise test accuracy \(lecture's notebook: 84\.69 %\)\s+"
             + NUMBER + "%"),
            ("end-to-end test accuracy, %", r"end-to-end test accuracy, same run\s+" + NUMBER + "%")],
    "02": [("test F1", r"evaluation images: F1 " + NUMBER), ("test AUC", r"evaluation images: F1 \S+ AUC " + NUMBER)],
    "03": [(f"{net} test {name}", rf"^{net}\s+\d+(?:\s+[\d.]+){{3}}\s+(?:True|False)\s+[\d.]+" + tail)
           for net in ("SegNet", "U-Net") for name, tail in (("F1", rf"\s+{NUMBER}\s+\S+$"),
                                                               ("AUC", rf"\s+\S+\s+{NUMBER}$"))],
    "04_": [("test accuracy", r"test accuracy \(scored once\)\s+" + NUMBER),
            ("CAM pointing, %", r"scored blast smears\s+CAM, blast class " + NUMBER + "%")],
    "04b": [("held-out crop accuracy", r"held-out crop accuracy \(scored once\)\s+" + NUMBER),
            ("CAM pointing, %", r"CAM \(layer4\) " + NUMBER + "%, Grad-CAM"),
            ("Grad-CAM pointing, %", r"Grad-CAM \(layer3\) " + NUMBER + "%, random")],
    "05": [("fine-tuned RMSprop test accuracy", r"^fine-tuned, RMSprop\s+\S+\s+" + NUMBER + "$"),
           ("fine-tuned SGD test accuracy", r"^fine-tuned, SGD\s+\S+\s+" + NUMBER + "$"),
           ("DRIVE test Dice, longer run", TEST_TABLE_05 + r", 10 ep\.\s+\S+\s+" + NUMBER),
           ("DRIVE test AUC, longer run", TEST_TABLE_05 + r", 10 ep\.(?:\s+\S+){5}\s+" + NUMBER)],
}


def notebook_for(prefix):
    """The notebook whose file name starts with `prefix` ("04_" is 04, "04b" is 04b)."""
    found = sorted((REPO / "notebooks").glob(f"{prefix}*.ipynb"))
    if len(found) != 1:
        raise SystemExit(f"precision_runs: {len(found)} notebooks start with {prefix!r} in {REPO / 'notebooks'}")
    return found[0]


def printed(nb):
    """Everything a notebook's code cells printed (stream outputs), joined."""
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                     if o.get("output_type") == "stream")


def figures(prefix, text):
    """{figure: value or None} of one notebook's printed text."""
    found = {}
    for name, pattern in FIGURES[prefix]:
        m = re.search(pattern, text, re.MULTILINE)
        found[name] = float(m.group(1)) if m else None
    return found


def with_precision(nb, precision):
    """A copy of the notebook whose parameters cell sets `precision`."""
    nb = copy.deepcopy(nb)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source, count = re.subn(r'^precision = "\w+"', f'precision = "{precision}"', cell.source, flags=re.M)
    if count != 1:
        raise SystemExit("precision_runs: the parameters cell has no `precision = \"...\"` line")
    return nb


def run(path, precision, smoke, out_dir, threads=None):
    """Execute the notebook with `precision` (and `threads` CPU threads when given) in a fresh kernel; return the
    executed notebook (also written)."""
    nb = with_precision(nbformat.read(path, as_version=4), precision)
    os.environ.update(COURSE_PROGRESS="0", COURSE_WIDGETS="0", COURSE_CHECKPOINTS="0",
                      COURSE_SMOKE="1" if smoke else "0")
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
                   ).execute()
    print(f"{path.name} with precision={precision!r}: {time.perf_counter() - start:.0f} s", flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    return nb


def rows(prefix, stored, ran, stored_seconds, ran_seconds):
    """Markdown rows of one notebook: its run time, then each figure, fp32 and bf16 side by side."""
    speedup = "-"
    if stored_seconds and ran_seconds:
        ratio = stored_seconds / ran_seconds
        speedup = f"{ratio:.2f}× faster" if ratio >= 1 else f"{1 / ratio:.2f}× slower"
    lines = [f"| {prefix.rstrip('_')} | run time, s | {stored_seconds:.0f} | {ran_seconds:.0f} | {speedup} |"]
    for name in stored:
        a, b = stored[name], ran[name]
        change = f"{b - a:+.4g}" if a is not None and b is not None else "not printed"
        shown = [("-" if v is None else f"{v:g}") for v in (a, b)]
        lines.append(f"| {prefix.rstrip('_')} | {name} | {shown[0]} | {shown[1]} | {change} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", default=list(FIGURES), help="prefixes, e.g. 03 04b (default: all)")
    parser.add_argument("--smoke", action="store_true", help="smoke schedules: checks the script, measures nothing")
    parser.add_argument("--precision", default="bf16", choices=("fp32", "bf16", "auto"), help="of the new runs")
    parser.add_argument("--threads", type=int, help="CPU threads of the new runs (default: as this process has)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "precision.md"), help="report ('-': print only)")
    args = parser.parse_args(argv)
    unknown = [p for p in args.notebooks if p not in FIGURES]
    if unknown:
        raise SystemExit(f"precision_runs: no figures defined for {unknown}; known: {', '.join(FIGURES)}")
    new = args.precision + (f", {args.threads} thread(s)" if args.threads else "")
    table = [f"| notebook | figure | fp32 (stored run) | {new} | {new} minus fp32 |", "|---|---|---|---|---|"]
    for prefix in args.notebooks:
        path = notebook_for(prefix)
        stored_nb = nbformat.read(path, as_version=4)
        ran_nb = run(path, args.precision, args.smoke, REPO / "build" / "precision", args.threads)
        stored_seconds, _ = stored_run_seconds(path)
        ran_seconds, _ = stored_run_seconds(REPO / "build" / "precision" / path.name)
        table += rows(prefix, figures(prefix, printed(stored_nb)), figures(prefix, printed(ran_nb)), stored_seconds,
                      ran_seconds)
    text = "\n".join(report(args, table, argv)) + "\n"
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text, encoding="utf-8")


def report(args, table, argv):
    """The report's lines: title, machine, the command that regenerates it, what the columns mean, the table."""
    size = " (SMOKE schedules: a check that the script runs, not a measurement)" if args.smoke else ""
    label = ("bf16 autocast" if args.precision == "bf16" else f'precision "{args.precision}"') + (
        f" with {args.threads} CPU thread(s)" if args.threads else "")
    command = " ".join(["python benchmarks/precision_runs.py", *(sys.argv[1:] if argv is None else argv)])
    about = ("bf16 runs every training (its validation curves included) in bf16 autocast; the final figures are "
             "computed in fp32. " if args.precision != "fp32" else "")
    if args.threads:
        about += f"The new runs use {args.threads} CPU thread(s); the stored run's banner names its own count. "
    return [f"# {label} against fp32 on the labs' default runs{size}", "",
            f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {machine()}.", "",
            f"Regenerate with `{command}` right after storing the notebooks (the fp32 column is the stored run). "
            + about + "A figure's change mixes that effect with run-to-run noise: compare it with the noise the "
            "notebooks report (e.g. 05's repeat seeds).", "", *table]


if __name__ == "__main__":
    main()
