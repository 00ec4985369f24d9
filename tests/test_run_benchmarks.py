"""benchmarks/run_benchmarks.py (issue 31, item 6): default-run times read from stored notebooks, one small run."""
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("run_benchmarks", ROOT / "benchmarks" / "run_benchmarks.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def _cell(start, end):
    return {"cell_type": "code", "source": "", "outputs": [], "execution_count": 1,
            "metadata": {"execution": {"iopub.execute_input": start, "shell.execute_reply": end}}}


def test_stored_run_time_is_first_start_to_last_reply(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": "", "metadata": {}},
                    _cell("2026-12-06T10:00:00.000000Z", "2026-12-06T10:00:05.000000Z"),
                    _cell("2026-12-06T10:00:05.100000Z", "2026-12-06T10:02:15.500000Z")]}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(nb))
    assert bench.stored_run_seconds(path) == (135.5, "2026-12-06")
    nb["cells"][1]["metadata"] = nb["cells"][2]["metadata"] = {}
    path.write_text(json.dumps(nb))
    assert bench.stored_run_seconds(path) == (None, None)


def test_small_throughput_table_has_every_network_and_variant():
    lines = bench.throughput_table(small=True)
    assert lines[0].count("|") == len(bench.VARIANTS) + 5  # name, 4 variants, fit's fp32 and bf16, fit's layout
    assert "as fit runs it" in lines[0]
    rows = lines[2:]
    assert [r.split(",")[0].strip("| ") for r in rows] == ["U-Net base 8 depth 3", "U-Net base 16 depth 3", "SegNet",
                                                         "ResNet-18"]
    assert all(r.rstrip().endswith("| channels_last |") for r in rows)  # the layout fit picks for these CPU nets


precision_spec = importlib.util.spec_from_file_location("precision_runs", ROOT / "benchmarks" / "precision_runs.py")
precision_runs = importlib.util.module_from_spec(precision_spec)
precision_spec.loader.exec_module(precision_runs)


def test_precision_benchmark_reads_every_figure_of_the_stored_runs():
    import nbformat
    for prefix in precision_runs.FIGURES:
        nb = nbformat.read(precision_runs.notebook_for(prefix), as_version=4)
        found = precision_runs.figures(prefix, precision_runs.printed(nb))
        assert None not in found.values(), (prefix, found)
        changed = precision_runs.with_precision(nb, "bf16")
        cell = next(c for c in changed.cells if "parameters" in c.metadata.get("tags", []))
        assert 'precision = "bf16"' in cell.source and 'precision = "fp32"' not in cell.source


def test_precision_rows_show_both_columns_and_the_change():
    lines = precision_runs.rows("03", {"U-Net test F1": 0.8154}, {"U-Net test F1": 0.8101}, 200.0, 150.0)
    assert lines == ["| 03 | run time, s | 200 | 150 | 1.33× faster |",
                     "| 03 | U-Net test F1 | 0.8154 | 0.8101 | -0.0053 |"]
    assert precision_runs.rows("01a", {}, {}, 13.0, 14.0) == ["| 01a | run time, s | 13 | 14 | 1.08× slower |"]
