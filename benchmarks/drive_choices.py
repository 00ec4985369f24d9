"""Trial runs behind the settings of notebooks 02 and 03, scored on the validation images only.

The 20 DRIVE training images are split as the notebooks split them (datasets.drive_validation_split, 16 train /
4 validation, seed 0); every trial trains on the 16 and is scored on the 4. The official test images are never
read. Each run appends one row per trial to benchmarks/drive_choices.md.

    python benchmarks/drive_choices.py unet --contrast-sigma 8 --unet-lr 2e-3      # one U-Net trial (03)
    python benchmarks/drive_choices.py patch --head-epochs 600 --every 50          # 02: validation AUC by epoch
"""
import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from course_utils import datasets, lessons, losses, metrics, patches, segmentation, training  # noqa: E402

RESULTS = REPO / "benchmarks" / "drive_choices.md"


def validation_scores(maps, cases):
    """AUC and the best F1 (with its threshold) inside the FOV of the validation images."""
    truths, fovs = [c.vessels for c in cases], [c.fov for c in cases]
    threshold, f1 = metrics.best_threshold(maps, truths, fovs)
    return {"auc": metrics.binary_metrics(maps, truths, fovs)["auc"], "f1": f1, "threshold": threshold}


def append_rows(title, header, rows):
    """Append a Markdown table of trial rows under a heading that names the machine and the command."""
    new = not RESULTS.exists()
    with RESULTS.open("a") as f:
        if new:
            f.write("# Trial runs behind the DRIVE notebooks' settings (validation images only)\n\n"
                    "Written by `benchmarks/drive_choices.py`; test images are never read.\n")
        f.write(f"\n## {title}\n\n`python benchmarks/drive_choices.py {' '.join(sys.argv[1:])}` on "
                f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {torch.get_num_threads()} thread(s)\n\n")
        f.write("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n")
        for row in rows:
            f.write("| " + " | ".join(str(v) for v in row) + " |\n")
    print(RESULTS.read_text().split("\n## ")[-1])


def unet_trial(args, split):
    """Notebook 03's U-Net recipe on the training images; validation AUC/F1 with and without test-time flips."""
    def prepare(case):
        if args.contrast_sigma:
            return segmentation.local_contrast(case.image, case.fov, args.contrast_sigma)
        return segmentation.standardise_in_fov(case.image, case.fov)
    labels = [segmentation.make_labels(c.vessels, c.fov) for c in split.train]
    X, y = segmentation.make_crop_set([prepare(c) for c in split.train], labels, args.num_crops, args.crop_size,
                                      seed=args.seed)
    loader = segmentation.FlipLoader(training.TensorLoader(X, y, batch_size=16, shuffle=True, seed=args.seed),
                                     seed=args.seed)
    torch.manual_seed(args.seed)
    net = lessons.UNet(in_channels=3, num_classes=3, base=8, depth=3)  # notebook 03's cells
    optimizer = torch.optim.Adam(net.parameters(), lr=args.unet_lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.unet_lr,
                                                    total_steps=args.unet_epochs * len(loader))
    history = training.fit(net, loader, losses.LogSoftmaxNLLLoss(), optimizer, args.unet_epochs, "cpu",
                           scheduler=scheduler)
    inputs = [prepare(c) for c in split.validation]
    row = [args.contrast_sigma, args.unet_lr, args.unet_epochs, f"{history['train_loss'][-1]:.4f}"]
    for flips in (False, True):
        maps = [segmentation.vessel_probability(segmentation.predict_probs(net, x, flips=flips), c.fov)
                for x, c in zip(inputs, split.validation, strict=True)]
        s = validation_scores(maps, split.validation)
        row += [f"{s['auc']:.4f}", f"{s['f1']:.4f} @ {s['threshold']:.2f}"]
    row.append(f"{sum(history['epoch_time']):.0f} s")
    append_rows("03 U-Net trial", ["contrast_sigma", "unet_lr", "epochs", "last train loss", "val AUC",
                                  "val best F1 @ threshold", "val AUC, flips", "val best F1, flips", "train time"],
                [row])


def patch_trial(args, split):
    """Notebook 02's two stages on the training images; validation AUC every `every` fine-tuning epochs."""
    torch.manual_seed(args.seed)
    hw = (10, 10)
    X, y = patches.sample_patches([c.image for c in split.train], [c.vessels.astype(np.float32) for c in split.train],
                                  hw, 1000, seed=args.seed, fovs=[c.fov for c in split.train])
    net = lessons.PatchAutoencoder(*hw)
    training.fit(net, training.TensorLoader(X, None, 250, shuffle=True, seed=args.seed), nn.MSELoss(),
                 torch.optim.Adam(net.parameters(), lr=args.lr), args.ae_epochs, "cpu")
    seg = lessons.PatchSegmenter(net.encoder, *hw)
    optimizer = torch.optim.Adam(seg.parameters(), lr=args.lr)
    loader = training.TensorLoader(X, y, 250, shuffle=True, seed=args.seed + 1)
    rows, done = [], 0
    while done < args.head_epochs:
        history = training.fit(seg, loader, nn.BCELoss(), optimizer, args.every, "cpu")
        done += args.every
        maps = [patches.predict_image(seg, c.image, hw, stride=2) for c in split.validation]
        s = validation_scores(maps, split.validation)
        rows.append([args.lr, args.ae_epochs, done, f"{history['train_loss'][-1]:.4f}", f"{s['auc']:.4f}",
                     f"{s['f1']:.4f} @ {s['threshold']:.2f}"])
        print(rows[-1], flush=True)
    append_rows("02 patch autoencoder trial", ["lr", "ae_epochs", "head epochs", "train BCE", "val AUC",
                                               "val best F1 @ threshold"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=("unet", "patch"))
    parser.add_argument("--contrast-sigma", type=float, default=8.0)
    parser.add_argument("--unet-lr", type=float, default=2e-3)
    parser.add_argument("--unet-epochs", type=int, default=19)
    parser.add_argument("--num-crops", type=int, default=80)
    parser.add_argument("--crop-size", type=int, default=96)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--ae-epochs", type=int, default=30)
    parser.add_argument("--head-epochs", type=int, default=600)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    drive = datasets.load_drive("real")
    split = datasets.drive_validation_split(drive.train, n_val=4, seed=args.seed)
    print(split.note)
    (unet_trial if args.which == "unet" else patch_trial)(args, split)


if __name__ == "__main__":
    main()
