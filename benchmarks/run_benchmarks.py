"""Benchmarks (not timed tests): training-step throughput per memory format and precision, data helpers, and
the notebooks' default-run times. One command regenerates benchmarks/results.md:

    python benchmarks/run_benchmarks.py            # full sizes (several minutes on 2 cores)
    python benchmarks/run_benchmarks.py --small    # tiny sizes, seconds: proves the script works
    python benchmarks/run_benchmarks.py --out -    # print only

The convolutional networks come from course_utils.lessons (the notebooks' #@save cells) when it defines them,
else from course_utils.segmentation. The default-run times are read from the stored notebooks and solutions:
the execution timestamps nbclient records in each code cell's metadata (first cell started to last cell done).
"""
import argparse
import copy
import json
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.models import resnet18

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from course_utils import losses, patches, runtime, speed, training  # noqa: E402

VARIANTS = {  # column -> (memory format, autocast dtype)
    "fp32": (torch.contiguous_format, None),
    "channels_last": (torch.channels_last, None),
    "bf16 autocast": (torch.contiguous_format, torch.bfloat16),
    "bf16 + channels_last": (torch.channels_last, torch.bfloat16),
}


def network_class(name):
    """A network class of the course: course_utils.lessons when it defines it, else course_utils.segmentation."""
    try:
        from course_utils import lessons
        if hasattr(lessons, name):
            return getattr(lessons, name), "lessons"
    except ImportError:
        pass
    from course_utils import segmentation
    return getattr(segmentation, name), "segmentation"


def best_of(fn, repeats=3):
    """Smallest wall time of `repeats` calls (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def train_step_rate(net, X, y, loss_fn, memory_format=torch.contiguous_format, dtype=None, steps=3, repeats=2):
    """Training samples per second of forward + backward + Adam step on one batch (as fit runs them)."""
    net = copy.deepcopy(net).to(memory_format=memory_format)
    X = X.contiguous(memory_format=memory_format) if X.dim() == 4 else X
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()

    def step():
        for _ in range(steps):
            opt.zero_grad()
            with speed.autocast("cpu", dtype):
                loss = loss_fn(speed.plain(net(X)), y)
            loss.backward()
            opt.step()
    step()  # warm-up
    return steps * len(X) / best_of(step, repeats)


def conv_networks(small):
    """(name, network, input batch, target batch, loss) of the convolutional networks of 03 and 04."""
    unet, unet_from = network_class("UNet")
    segnet, segnet_from = network_class("SegNet")
    px, batch, rpx, rbatch = (32, 2, 64, 2) if small else (96, 16, 192, 32)
    nll = losses.LogSoftmaxNLLLoss()

    def seg(n, p):
        return torch.rand(n, 3, p, p), torch.randint(0, 3, (n, p, p))
    return [
        (f"U-Net base 8 depth 3, {px} px, {batch} ({unet_from}.UNet; 03's default)", unet(base=8, depth=3),
         *seg(batch, px), nll),
        (f"U-Net base 16 depth 3, {px} px, {batch}", unet(base=16, depth=3), *seg(batch, px), nll),
        (f"SegNet, {px} px, {batch} ({segnet_from}.SegNet)", segnet(), *seg(batch, px), nll),
        (f"ResNet-18, {rpx} px, {rbatch} (04's default)", resnet18(weights=None, num_classes=2),
         torch.rand(rbatch, 3, rpx, rpx), torch.randint(0, 2, (rbatch,)), nn.CrossEntropyLoss()),
    ]


def throughput_table(small):
    """Markdown rows: samples/s per network and variant, then as fit runs it (its layout, pooling-gradient hook and
    kept heap: speed.keep_freed_memory, which cannot be undone, so those two columns are measured last)."""
    steps, repeats = (1, 1) if small else (3, 2)
    nets = conv_networks(small)
    rates = [[train_step_rate(net, X, y, loss_fn, fmt, dtype, steps, repeats) for fmt, dtype in VARIANTS.values()]
             for _, net, X, y, loss_fn in nets]
    heap = "heap kept" if speed.keep_freed_memory() else "heap as the OS gives it"
    fit_columns = [f"as fit runs it ({heap}), fp32", f"as fit runs it ({heap}), bf16"]
    lines = ["| network, input, batch | " + " | ".join([*VARIANTS, *fit_columns]) + " | fit's layout |",
             "|---|" + "---|" * (len(VARIANTS) + len(fit_columns) + 1)]
    for (name, net, X, y, loss_fn), row in zip(nets, rates):
        chosen = training.prepare_for_device(copy.deepcopy(net), "cpu", X[:2])
        weight = next(p for p in chosen.parameters() if p.dim() == 4)
        chosen_cl = weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
        fmt = torch.channels_last if chosen_cl else torch.contiguous_format
        row += [train_step_rate(chosen, X, y, loss_fn, fmt, dtype, steps, repeats) for dtype in (None, torch.bfloat16)]
        used = "channels_last" if chosen_cl else "contiguous"
        lines.append(f"| {name} | " + " | ".join(f"{r:,.0f}" for r in row) + f" | {used} |")
    return lines


def other_rows(small):
    """Throughput of the fully connected models and timings of the data helpers."""
    n = 100 if small else 1000
    mlp = nn.Sequential(nn.Linear(784, 100), nn.Sigmoid(), nn.Linear(100, 100), nn.Sigmoid(), nn.Linear(100, 100),
                        nn.Sigmoid(), nn.Linear(100, 784), nn.Sigmoid())
    X = torch.rand(n, 784)
    rows = [(f"01a/01b-sized MLP autoencoder 784-100-100 (batch {n})",
             f"{train_step_rate(mlp, X, X, nn.MSELoss()):,.0f} samples/s")]
    rng = np.random.default_rng(0)
    count, side = (4, 128) if small else (20, 584)
    images = [rng.random((side, side, 3), dtype=np.float32) for _ in range(count)]
    labels = [rng.random((side, side)) > 0.9 for _ in range(count)]
    fovs = [np.ones((side, side), bool)] * count
    t_sample = best_of(lambda: patches.sample_patches(images, labels, (10, 10), n, 0, fovs))
    rows.append((f"02 sample {count} x {n} patches 10x10 (vectorised)", f"{t_sample * 1000:.0f} ms"))
    m = 6000 if small else 60000
    X, y = torch.rand(m, 784), torch.randint(0, 10, (m,))
    t_mem = best_of(lambda: list(training.TensorLoader(X, y, 1000)), 2)
    per_item = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=1000, shuffle=True)
    t_item = best_of(lambda: list(per_item), 2)
    rows += [(f"epoch of {m:,} x 784 batches: TensorLoader (in memory)", f"{t_mem * 1000:.0f} ms"),
             (f"epoch of {m:,} x 784 batches: DataLoader per item", f"{t_item * 1000:.0f} ms")]
    return rows


def stored_run_seconds(path):
    """Seconds from the first code cell's start to the last one's reply, from nbclient's timing metadata."""
    cells = [c for c in json.loads(Path(path).read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    stamps = [c.get("metadata", {}).get("execution", {}) for c in cells]
    starts = [s["iopub.execute_input"] for s in stamps if "iopub.execute_input" in s]
    ends = [s["shell.execute_reply"] for s in stamps if "shell.execute_reply" in s]
    if not starts or not ends:
        return None, None

    def parse(stamp):
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (parse(max(ends)) - parse(min(starts))).total_seconds(), min(starts)[:10]


def notebook_lines():
    """Markdown rows: every stored notebook's and solution's default-run time and the date it was run."""
    lines = ["| notebook | default run (stored outputs) | run on |", "|---|---|---|"]
    for path in sorted((REPO / "notebooks").glob("*.ipynb")) + sorted((REPO / "solutions").glob("*.ipynb")):
        seconds, date = stored_run_seconds(path)
        shown = "no timing stored" if seconds is None else f"{seconds:.0f} s"
        lines.append(f"| {path.parent.name}/{path.name} | {shown} | {date or '-'} |")
    return lines


def machine():
    """One line naming the machine the numbers come from."""
    device = runtime.get_device(verbose=False)
    bf16 = "native bf16" if speed.native_bf16_cpu() else "no native bf16"
    return (f"{platform.machine()} ({platform.processor() or 'cpu'}), {os.cpu_count()} cores, {bf16}, torch "
            f"{torch.__version__} with {torch.get_num_threads()} threads, {runtime.describe_device(device)}, "
            f"python {platform.python_version()}")


def report(small):
    """The whole results.md text."""
    size = " (small sizes: a check that the script runs, not a measurement)" if small else ""
    lines = [f"# Benchmarks{size}", "", f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {machine()}.", "",
             "Regenerate with `python benchmarks/run_benchmarks.py`.", "",
             "## Training step (forward, backward, Adam), samples/s", ""]
    lines += throughput_table(small)
    lines += ["", "## Other models and data helpers", "", "| what | result |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in other_rows(small)]
    lines += ["", "## Default runs of the stored notebooks", ""] + notebook_lines()
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="tiny sizes (seconds), to check the script runs")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results.md"), help="where to write ('-': print)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    text = report(args.small)
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
