"""The stored notebooks stay small enough to clone and render quickly: scripts/run_notebooks.py's `compact` drops
saved widget state and stores opaque figures as RGB PNG, and all stored notebooks together stay under 30 MB."""
import base64
import io
import json
import sys
from pathlib import Path

import nbformat
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import run_notebooks  # noqa: E402

STORED = sorted((REPO / "notebooks").glob("*.ipynb")) + sorted((REPO / "solutions").glob("*.ipynb"))


def test_stored_notebooks_total_under_30_mb():
    total = sum(path.stat().st_size for path in STORED)
    assert total < 30e6, f"stored notebooks hold {total / 1e6:.1f} MB"


def test_stored_notebooks_are_compact():
    for path in STORED:
        nb = json.loads(path.read_text(encoding="utf-8"))
        assert "widgets" not in nb["metadata"], path.name
        modes = {Image.open(io.BytesIO(base64.b64decode(o["data"]["image/png"]))).mode
                 for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})}
        assert "RGBA" not in modes, path.name


def _png(pixels):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def test_compact_keeps_the_pixels_and_transparent_figures():
    rng = np.random.default_rng(0)
    opaque = np.concatenate([rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), np.full((8, 8, 1), 255, np.uint8)], 2)
    clear = opaque.copy()
    clear[0, 0, 3] = 0
    nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}})
    nb.cells = [nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("display_data", {"image/png": _png(a)})])
                for a in (opaque, clear)]
    run_notebooks.compact(nb)
    first, second = (Image.open(io.BytesIO(base64.b64decode(c.outputs[0]["data"]["image/png"]))) for c in nb.cells)
    assert "widgets" not in nb.metadata
    assert first.mode == "RGB" and np.array_equal(np.asarray(first), opaque[..., :3])
    assert second.mode == "RGBA" and np.array_equal(np.asarray(second), clear)
