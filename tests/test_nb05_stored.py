"""Floors of notebook 05's stored default run (real Fashion-MNIST and real DRIVE), read from its outputs.

The stored outputs are one complete default run; these floors are what that run measured, rounded down, so a
re-store that silently loses accuracy (or falls back to a stand-in) fails here instead of going unnoticed.
"""
from pathlib import Path

import nbformat
import pytest

# measured in the stored default run of 2026-12-07 (test accuracies RMSprop 0.8720, SGD 0.8285, raw-pixel probe
# 0.8360; best DRIVE test Dice 0.7671, AUC 0.9526; pre-training table: all images Dice 0.7350 / 0.7078, AUC 0.9394 /
# 0.9233, 4 images best Dice 0.6055), rounded down.
FLOOR_RMSPROP, FLOOR_SGD, FLOOR_PROBE_PIXELS = 0.86, 0.82, 0.83
FLOOR_BEST_DICE, FLOOR_BEST_AUC = 0.74, 0.93
# section 5, the pre-training table: every arm trained on all labelled images, and the best arm on 4 images
FLOOR_PRETRAIN_ALL_DICE, FLOOR_PRETRAIN_ALL_AUC, FLOOR_PRETRAIN_FEW_DICE = 0.70, 0.90, 0.50
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "05_pca_autoencoders_segmentation.ipynb"


@pytest.fixture(scope="module")
def texts():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    return [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def table_after(texts, title):
    """Rows {name: {column: value}} of the format_table printed right after a line containing `title`."""
    text = next(t for t in texts if title in t)
    header, *lines = text[text.index(title):].splitlines()[1:]
    names = []  # format_table right-aligns each column name in 12 characters after a blank name column
    while len(header) >= 12 and header[-12:].strip():
        names.insert(0, header[-12:].strip())
        header = header[:-12]
    rows = {}
    for line in lines:
        parts = line.split()
        if len(parts) <= len(names):
            break
        try:
            rows[" ".join(parts[:-len(names)])] = dict(zip(names, map(float, parts[-len(names):])))
        except ValueError:  # the table has ended: a sentence follows it
            break
    return rows


def test_stored_run_is_a_complete_default_run_on_real_data(texts):
    banner = texts[0]
    assert "drive: REAL data" in banner and "default schedule" in banner
    assert any("fashion_mnist: REAL data" in t for t in texts)
    assert any("whole notebook after the imports" in t for t in texts)


def test_fashion_floors(texts):
    rows = table_after(texts, "accuracy on")
    assert rows["fine-tuned, RMSprop"]["test"] >= FLOOR_RMSPROP
    assert rows["fine-tuned, SGD"]["test"] >= FLOOR_SGD
    assert rows["probe, raw pixels (784)"]["test"] >= FLOOR_PROBE_PIXELS


def test_drive_floors(texts):
    rows = table_after(texts, "official test images; vessel class")
    assert len(rows) == 9   # the eight configurations and the longer run
    assert max(r["dice"] for r in rows.values()) >= FLOOR_BEST_DICE
    assert max(r["auc"] for r in rows.values()) >= FLOOR_BEST_AUC


def test_pretraining_table_floors(texts):
    rows = table_after(texts, "pre-training table")
    assert len(rows) == 4
    every = [r for name, r in rows.items() if name.startswith("16 labelled images")]
    few = [r for name, r in rows.items() if name.startswith("4 labelled images")]
    assert len(every) == 2 and len(few) == 2
    assert min(r["test dice"] for r in every) >= FLOOR_PRETRAIN_ALL_DICE
    assert min(r["test auc"] for r in every) >= FLOOR_PRETRAIN_ALL_AUC
    assert max(r["test dice"] for r in few) >= FLOOR_PRETRAIN_FEW_DICE
    assert all(r["seconds"] > 0 for r in rows.values())
    assert any("pre-training helped" in t or "pre-training did not help" in t for t in texts)
