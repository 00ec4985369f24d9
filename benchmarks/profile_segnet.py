"""Why the lecture's SegNet trains slowly on the CPU, and which plumbing makes its training step cheapest.

Measures one training step (forward, cross-entropy over 3 classes, backward, Adam lr 1e-3) of
course_utils.lessons.SegNet on a random batch of 16 crops of 96x96 px:

  (a) torch.profiler: top ops by self CPU time over 20 steps after 5 warm-up steps, contiguous and channels_last;
  (b) samples/s of variants that compute the same network (memory format per module, threads, oneDNN on/off,
      Adam foreach/fused, zero_grad, bf16 autocast, the glibc allocator's mmap use), each timed as 5 warm-up
      steps then the median of 3 repeats of 20 steps, with the minor page faults per step and the loss at
      step 20 from the same seed (compared with the fp32 contiguous one);
  (c) the same layout/allocator variants for course_utils.lessons.UNet(base=8).

Run (about 3 minutes on 2 cores; results print as markdown):

    OMP_NUM_THREADS=2 python benchmarks/profile_segnet.py
    OMP_NUM_THREADS=2 python benchmarks/profile_segnet.py --steps 3 --repeats 1   # seconds: proves it works

The allocator rows come last because glibc's mallopt cannot be undone within a process.
"""
import argparse
import contextlib
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from course_utils import speed  # noqa: E402
from course_utils.lessons import SegNet, UNet  # noqa: E402

CL = torch.channels_last
BATCH, SIZE, CLASSES = 16, 96, 3


def layout_hooks(net, mode):
    """Per-module memory format of the SegNet's pool/unpool (the convolutions stay channels_last).

    "contiguous_pool": pool and unpool see contiguous maps, conv2 gets channels_last back.
    "cl_pool_grad": all channels_last, and the gradient reaching the pool output (max_unpool2d's backward
    returns it contiguous) is made channels_last, so max_pool2d_with_indices_backward needs no conversion: the
    hook course_utils.speed registers when fit prepares a network.
    """
    if mode == "contiguous_pool":
        net.pool.register_forward_pre_hook(lambda m, args: (args[0].contiguous(),))
        net.conv2.register_forward_pre_hook(lambda m, args: (args[0].contiguous(memory_format=CL),))
    elif mode == "cl_pool_grad":
        speed._keep_pool_gradients_channels_last(net)


def make_step(model="segnet", fmt=torch.contiguous_format, hooks=None, dtype=None, adam=None, set_to_none=True,
              plain_output=True):
    """(step function, example) for one variant, built from seed 0 so every variant starts from the same state."""
    torch.manual_seed(0)
    net = SegNet() if model == "segnet" else UNet(base=8)
    net.to(memory_format=fmt)
    layout_hooks(net, hooks)
    X = torch.randn(BATCH, 3, SIZE, SIZE).contiguous(memory_format=fmt)
    y = torch.randint(0, CLASSES, (BATCH, SIZE, SIZE))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, **(adam or {}))
    loss_fn = nn.CrossEntropyLoss()
    cast = torch.autocast("cpu", dtype=dtype) if dtype else contextlib.nullcontext()

    def step():
        optimizer.zero_grad(set_to_none=set_to_none)
        with cast:
            out = net(X)
        if plain_output:  # what speed.plain does in training.fit
            out = out.float().contiguous()
        loss = loss_fn(out, y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def time_variant(step, steps, repeats, warmup=5):
    """(median samples/s, minor page faults per step, loss at step 20 or the last step)."""
    losses = [step() for _ in range(warmup)]
    rates, faults = [], []
    for _ in range(repeats):
        f0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
        losses += [step() for _ in range(steps)]
        rates.append(steps * BATCH / (time.perf_counter() - t0))
        faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / steps)
    return statistics.median(rates), statistics.median(faults), losses[min(20, len(losses)) - 1], rates


def profile_table(step, title, steps, rows=12):
    for _ in range(5):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    print(f"\n### Top ops by self CPU time: {title} ({steps} steps, {total / 1e3 / steps:.1f} ms/step)\n")
    print("| op | self CPU % | ms/step | calls/step |\n|---|---:|---:|---:|")
    for e in events[:rows]:
        print(f"| {e.key} | {100 * e.self_cpu_time_total / total:.1f} | {e.self_cpu_time_total / 1e3 / steps:.1f}"
              f" | {e.count / steps:g} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} threads, batch {BATCH}x3x{SIZE}x{SIZE}")

    profile_table(make_step(), "SegNet contiguous", args.steps)
    profile_table(make_step(fmt=CL), "SegNet channels_last", args.steps)

    rows, reference = [], {}

    def run(name, model="segnet", threads_=None, mkldnn=True, **kw):
        torch.set_num_threads(threads_ or threads)
        with torch.backends.mkldnn.flags(enabled=mkldnn):
            rate, faults, loss, rates = time_variant(make_step(model, **kw), args.steps, args.repeats)
        torch.set_num_threads(threads)
        reference.setdefault(model, loss)
        rows.append((model, name, rate, faults, loss, loss - reference[model], rates))

    f32 = dict(fmt=CL)
    run("fp32 contiguous")
    run("channels_last (current plumbing)", **f32)
    run("CL convs, contiguous pool/unpool", hooks="contiguous_pool", **f32)
    run("CL + pool-output grad made CL", hooks="cl_pool_grad", **f32)
    run("contiguous, 1 thread", threads_=1)
    run("channels_last, 1 thread", threads_=1, **f32)
    run("contiguous, mkldnn off", mkldnn=False)
    run("channels_last, mkldnn off", mkldnn=False, **f32)
    run("CL, Adam foreach=False", adam=dict(foreach=False), **f32)
    run("CL, Adam foreach=True", adam=dict(foreach=True), **f32)
    run("CL, Adam fused=True", adam=dict(fused=True), **f32)
    run("CL, zero_grad(set_to_none=False)", set_to_none=False, **f32)
    run("CL, loss on CL logits (no .contiguous())", plain_output=False, **f32)
    run("bf16 autocast contiguous", dtype=torch.bfloat16)
    run("bf16 autocast channels_last", dtype=torch.bfloat16, **f32)
    run("fp32 contiguous", model="unet")
    run("channels_last", model="unet", **f32)
    run("bf16 autocast channels_last", model="unet", dtype=torch.bfloat16, **f32)

    if speed.keep_freed_memory():  # from here on: no mmap for large blocks, freed memory kept (process-wide, one way)
        tag = " + heap allocator"
        run("fp32 contiguous" + tag)
        run("channels_last" + tag, **f32)
        run("CL convs, contiguous pool/unpool" + tag, hooks="contiguous_pool", **f32)
        run("CL + pool-output grad made CL" + tag, hooks="cl_pool_grad", **f32)
        run("channels_last, 1 thread" + tag, threads_=1, **f32)
        run("bf16 autocast contiguous" + tag, dtype=torch.bfloat16)
        run("bf16 autocast channels_last" + tag, dtype=torch.bfloat16, **f32)
        run("fp32 contiguous" + tag, model="unet")
        run("channels_last" + tag, model="unet", **f32)
        run("bf16 autocast channels_last" + tag, model="unet", dtype=torch.bfloat16, **f32)
        profile_table(make_step(fmt=CL), "SegNet channels_last" + tag, args.steps)
        profile_table(make_step(fmt=CL, hooks="cl_pool_grad"), "SegNet CL + pool grad CL" + tag, args.steps)
    else:
        print("\n(glibc mallopt unavailable: allocator rows skipped)")

    print(f"\n### Training-step throughput ({args.repeats} x {args.steps} steps after 5 warm-up, median)\n")
    print("| net | variant | samples/s | repeats | minor faults/step | loss @20 | vs fp32 contiguous |")
    print("|---|---|---:|---|---:|---:|---:|")
    for model, name, rate, faults, loss, diff, rates in rows:
        print(f"| {model} | {name} | {rate:.0f} | {'/'.join(f'{r:.0f}' for r in rates)} | {faults:.0f} |"
              f" {loss:.6f} | {diff:+.1e} |")


if __name__ == "__main__":
    main()
