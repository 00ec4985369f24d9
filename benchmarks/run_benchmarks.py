"""Benchmarks (not timed tests): model throughput, patch sampling and tiling, loaders, notebook wall times.

    python benchmarks/run_benchmarks.py                  # micro-benchmarks (about two minutes)
    python benchmarks/run_benchmarks.py --notebooks      # plus every notebook in smoke mode
Default-settings wall times come from the latest complete `make run` / `make store` (scripts/run_notebooks.py
logs every run in build/notebook_times.jsonl); they are listed when present. Results are printed as a Markdown
table and written to benchmarks/results.md with the machine they ran on.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from course_utils import autoencoders, cam, losses, patches, runtime, segmentation, training  # noqa: E402


def best_of(fn, repeats=3):
    """Smallest wall time of `repeats` calls (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def train_step_rate(net, X, y, loss_fn, steps=3):
    """Training samples per second of forward + backward + Adam step on one batch."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step():
        for _ in range(steps):
            opt.zero_grad()
            loss_fn(net(X), y).backward()
            opt.step()
    step()  # warm-up
    return steps * len(X) / best_of(step, 2)


def model_rows():
    """Throughput of each notebook's model at its default input size."""
    ce = nn.CrossEntropyLoss()
    nll = losses.LogSoftmaxNLLLoss()
    rows = [
        ("01a/01b MLP autoencoder 784-100-100 (batch 1000)", autoencoders.mlp_autoencoder((784, 100, 100)),
         torch.rand(1000, 784), None, nn.MSELoss()),
        ("02 patch autoencoder 10x10x3 (batch 1000)", patches.build_autoencoder(10, 10),
         torch.rand(1000, 300), None, nn.MSELoss()),
        ("03 SegNet, 96x96 crops (batch 16, notebook default)", segmentation.SegNet(), torch.rand(16, 3, 96, 96),
         torch.randint(0, 3, (16, 96, 96)), nll),
        ("03 U-Net base 8 depth 3, 96x96 crops (batch 16, notebook default)", segmentation.UNet(base=8),
         torch.rand(16, 3, 96, 96), torch.randint(0, 3, (16, 96, 96)), nll),
        ("03 U-Net base 16 depth 3, 224x224 crops (batch 10, lecture size)", segmentation.UNet(base=16),
         torch.rand(10, 3, 224, 224), torch.randint(0, 3, (10, 224, 224)), nll),
        ("04 ResNet-18, 192x192 (128 + 2x32 border, batch 32, notebook default)", cam.build_resnet18(weights=None),
         torch.rand(32, 3, 192, 192), torch.randint(0, 2, (32,)), ce),
        ("04 ResNet-18, 224x224 (batch 32, lecture size)", cam.build_resnet18(weights=None),
         torch.rand(32, 3, 224, 224), torch.randint(0, 2, (32,)), ce),
    ]
    out = []
    for name, net, X, y, loss_fn in rows:
        rate = train_step_rate(net, X, X if y is None else y, loss_fn)
        out.append((name, f"{rate:,.0f} samples/s"))
    return out


def data_rows():
    """Patch sampling, whole-image tiling and the in-memory loader against a per-item DataLoader."""
    rng = np.random.default_rng(0)
    images = [rng.random((584, 565, 3), dtype=np.float32) for _ in range(20)]
    labels = [rng.random((584, 565)) > 0.9 for _ in range(20)]
    fovs = [np.ones((584, 565), bool)] * 20
    t_sample = best_of(lambda: patches.sample_patches(images, labels, (10, 10), 1000, 0, fovs))
    net = patches.build_segmenter(patches.build_autoencoder(10, 10).encoder, 10, 10)
    t_tile = best_of(lambda: patches.predict_image(net, images[0], (10, 10)))
    t_tile5 = best_of(lambda: patches.predict_image(net, images[0], (10, 10), stride=5))
    X, y = torch.rand(60000, 784), torch.randint(0, 10, (60000,))
    t_mem = best_of(lambda: [b for b in training.TensorLoader(X, y, 1000)], 2)
    per_item = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=1000, shuffle=True)
    t_item = best_of(lambda: [b for b in per_item], 2)
    return [("02 sample 20 x 1000 patches 10x10 (vectorised)", f"{t_sample * 1000:.0f} ms"),
            ("02 tile one 584x565 image, stride 10 (3,306 tiles)", f"{t_tile * 1000:.0f} ms"),
            ("02 tile one 584x565 image, stride 5 (overlap averaged)", f"{t_tile5 * 1000:.0f} ms"),
            ("epoch of 60,000 x 784 batches: TensorLoader (in memory)", f"{t_mem * 1000:.0f} ms"),
            ("epoch of 60,000 x 784 batches: DataLoader per item", f"{t_item * 1000:.0f} ms")]


def notebook_rows():
    """Wall time of every notebook in smoke mode (fresh kernel each)."""
    rows = []
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        env = dict(os.environ, COURSE_SMOKE="1")
        start = time.perf_counter()
        subprocess.run([sys.executable, str(REPO / "scripts" / "run_notebooks.py"), "--out",
                        str(REPO / "build" / "bench"), str(nb)], check=True, env=env, capture_output=True)
        rows.append((f"{nb.stem} (smoke)", f"{time.perf_counter() - start:.1f} s"))
    return rows + default_rows()


def default_rows():
    """Latest error-free default-settings run of each notebook, from build/notebook_times.jsonl."""
    log = REPO / "build" / "notebook_times.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    latest = {e["notebook"]: e for e in entries if e["ok"] and not e["smoke"]}
    return [(f"{Path(name).stem} (default settings, run of {e['date']})", f"{e['seconds']:.0f} s")
            for name, e in sorted(latest.items()) if name.startswith(tuple("0123456789"))]


def machine():
    """One line naming the machine the numbers come from."""
    device = runtime.get_device(verbose=False)
    return (f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} with "
            f"{torch.get_num_threads()} threads, {runtime.describe_device(device)}, python {platform.python_version()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", action="store_true", help="also time every notebook in smoke mode")
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = model_rows() + data_rows() + (notebook_rows() if args.notebooks else [])
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {machine()}.", "", "| what | result |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    (REPO / "benchmarks" / "results.md").write_text(text)


if __name__ == "__main__":
    main()
