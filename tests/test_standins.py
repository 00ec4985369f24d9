"""Tests for the stand-ins (course_utils.datasets.standins): layout, formats, statistics, determinism, atomic
writes, learnability."""

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image, ImageFilter

from course_utils.datasets import catalog
from course_utils.datasets.standins import all_idb, common, drive, fashion

N_TRAIN, N_TEST, N_SMEARS = 2000, 1000, 2


# --------------------------------------------------------------------------- fixtures and helpers

@pytest.fixture(scope="module")
def fashion_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("fashion")
    fashion.make_fashion_mnist(root, seed=0, n_train=N_TRAIN, n_test=N_TEST)
    return root


@pytest.fixture(scope="module")
def drive_dir(tmp_path_factory):
    return drive.make_drive(tmp_path_factory.mktemp("drive"), seed=0)


@pytest.fixture(scope="module")
def all_idb_dir(tmp_path_factory):
    return all_idb.make_all_idb(tmp_path_factory.mktemp("all_idb"), seed=0, n_smears=N_SMEARS)


def relative_files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def binary(path):
    return np.asarray(Image.open(path).convert("L")) > 127


def rank_auc(scores, labels):
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    n_pos = labels.sum()
    return (ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(labels) - n_pos))


def purple(image):
    """Nucleus-coloured pixels: blue above red, green low."""
    rgb = image.astype(int)
    return (rgb[..., 2] > rgb[..., 0] + 20) & (rgb[..., 1] < 130)


# --------------------------------------------------------------------------- Fashion-MNIST

def test_fashion_files_load_with_torchvision(fashion_root):
    assert relative_files(fashion_root / "FashionMNIST") == [
        "raw/t10k-images-idx3-ubyte", "raw/t10k-labels-idx1-ubyte",
        "raw/train-images-idx3-ubyte", "raw/train-labels-idx1-ubyte"]
    train = torchvision.datasets.FashionMNIST(fashion_root, train=True, download=False)
    test = torchvision.datasets.FashionMNIST(fashion_root, train=False, download=False)
    assert train.data.shape == (N_TRAIN, 28, 28) and train.data.dtype == torch.uint8
    assert test.data.shape == (N_TEST, 28, 28)
    assert train.targets.bincount().tolist() == [N_TRAIN // 10] * 10
    assert tuple(train.classes) == catalog.FASHION_CLASSES
    assert 0.1 < train.data.float().mean() / 255 < 0.5


def test_fashion_same_seed_same_bytes_other_seed_differs(fashion_root, tmp_path):
    again = fashion.make_fashion_mnist(tmp_path / "a", seed=0, n_train=N_TRAIN, n_test=N_TEST)
    other = fashion.make_fashion_mnist(tmp_path / "b", seed=1, n_train=N_TRAIN, n_test=N_TEST)
    name = "raw/train-images-idx3-ubyte"
    first = (fashion_root / "FashionMNIST" / name).read_bytes()
    assert (again / name).read_bytes() == first
    assert (other / name).read_bytes() != first


def test_fashion_is_learnable_but_not_trivial(fashion_root, one_thread):
    train = torchvision.datasets.FashionMNIST(fashion_root, train=True, download=False)
    test = torchvision.datasets.FashionMNIST(fashion_root, train=False, download=False)
    X, X_test = (d.data.reshape(len(d.data), -1).float() / 255 for d in (train, test))
    torch.manual_seed(0)
    net = torch.nn.Linear(784, 10)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(60):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(X), train.targets).backward()
        optimizer.step()
    accuracy = (net(X_test).argmax(1) == test.targets).float().mean().item()
    assert 0.6 < accuracy < 0.98


def test_fashion_similar_tops_are_confusable():
    X, y = fashion.fashion_arrays(2000, seed=3)
    means = np.stack([X[y == c].reshape(-1, 784).mean(0) for c in range(10)])
    dist = np.linalg.norm(means[:, None] - means[None], axis=2)
    shirt, tshirt, pullover, coat, trouser, bag = 6, 0, 2, 4, 1, 8
    assert max(dist[shirt, tshirt], dist[shirt, pullover], dist[pullover, coat]) < min(
        dist[shirt, trouser], dist[shirt, bag], dist[tshirt, trouser])


# --------------------------------------------------------------------------- atomic writes

def test_existing_complete_copy_is_untouched(fashion_root):
    folder = fashion_root / "FashionMNIST"
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    assert fashion.make_fashion_mnist(fashion_root, seed=5, n_train=N_TRAIN, n_test=N_TEST) == folder
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before
    assert sorted(p.name for p in fashion_root.iterdir()) == ["FashionMNIST"]


def test_incomplete_existing_folder_is_reported_not_replaced(tmp_path):
    (tmp_path / "FashionMNIST" / "raw").mkdir(parents=True)
    (tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"short")
    with pytest.raises(FileExistsError, match="incomplete"):
        fashion.make_fashion_mnist(tmp_path, n_train=10, n_test=10)
    assert (tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").read_bytes() == b"short"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FashionMNIST"]


def test_failed_build_leaves_no_folder(tmp_path):
    def write(folder):
        (folder / "half.txt").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        common.build_atomically(tmp_path, "Data", {"half.txt": None, "other.txt": None}, write)
    assert list(tmp_path.iterdir()) == []


def test_copy_finished_first_by_another_process_is_accepted(tmp_path):
    def write(folder):
        (folder / "a.txt").write_text("mine")
        (tmp_path / "Data").mkdir()
        (tmp_path / "Data" / "a.txt").write_text("theirs")

    result = common.build_atomically(tmp_path, "Data", {"a.txt": None}, write)
    assert (result / "a.txt").read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Data"]


# --------------------------------------------------------------------------- DRIVE

def test_drive_official_layout(drive_dir):
    expected = []
    for num in range(21, 41):
        expected += [f"training/1st_manual/{num}_manual1.gif", f"training/images/{num}_training.tif",
                     f"training/mask/{num}_training_mask.gif"]
    for num in range(1, 21):
        expected += [f"test/1st_manual/{num:02d}_manual1.gif", f"test/2nd_manual/{num:02d}_manual2.gif",
                     f"test/images/{num:02d}_test.tif", f"test/mask/{num:02d}_test_mask.gif"]
    assert relative_files(drive_dir) == sorted(expected)
    assert oct(drive_dir.stat().st_mode & 0o777) == "0o755"
    assert not list(drive_dir.parent.glob(".DRIVE.tmp-*"))


def test_drive_formats(drive_dir):
    image = Image.open(drive_dir / "training/images/21_training.tif")
    assert (image.format, image.mode, image.size) == ("TIFF", "RGB", (565, 584))
    for name in ("training/1st_manual/21_manual1.gif", "training/mask/21_training_mask.gif",
                 "test/2nd_manual/01_manual2.gif"):
        gif = Image.open(drive_dir / name)
        assert gif.format == "GIF" and gif.size == (565, 584)
        assert set(np.unique(np.asarray(gif.convert("L")))) == {0, 255}


def test_drive_fov_vessel_fractions_and_observer_agreement(drive_dir):
    f1s = []
    for num in range(1, 21):
        fov = binary(drive_dir / f"test/mask/{num:02d}_test_mask.gif")
        v1 = binary(drive_dir / f"test/1st_manual/{num:02d}_manual1.gif")
        v2 = binary(drive_dir / f"test/2nd_manual/{num:02d}_manual2.gif")
        assert 0.65 < fov.mean() < 0.71
        assert 0.07 < v1.mean() < 0.11 and 0.09 < v1[fov].mean() < 0.16
        assert not (v1 & ~fov).any()
        f1s.append(2 * (v1 & v2).sum() / (v1.sum() + v2.sum()))
    assert 0.7 < min(f1s) and max(f1s) < 0.9 and 0.75 < np.mean(f1s) < 0.85


def test_drive_looks_like_a_fundus(drive_dir):
    image = np.asarray(Image.open(drive_dir / "training/images/22_training.tif"), np.float32)
    fov = binary(drive_dir / "training/mask/22_training_mask.gif")
    vessels = binary(drive_dir / "training/1st_manual/22_manual1.gif")
    red, green, blue = (image[..., c][fov & ~vessels].mean() for c in range(3))
    assert red > green > blue > 20
    assert image[~fov].mean() < 15
    assert image[..., 1][vessels].mean() < green - 8


def green_features(image):
    """Green value and its difference to local means at five scales, per pixel."""
    green = Image.fromarray(image[..., 1])
    g = np.asarray(green, np.float32)
    local_means = [np.asarray(green.filter(ImageFilter.BoxBlur(r)), np.float32) for r in (1, 2, 4, 8, 16)]
    columns = [g] + [mean - g for mean in local_means]
    return np.stack(columns, -1) / 255.0


def test_drive_vessels_separable_from_green_channel(drive_dir, one_thread):
    def pixels(num):
        image = np.asarray(Image.open(drive_dir / f"training/images/{num}_training.tif"))
        fov = binary(drive_dir / f"training/mask/{num}_training_mask.gif")
        vessels = binary(drive_dir / f"training/1st_manual/{num}_manual1.gif")
        return torch.tensor(green_features(image)[fov][::4]), vessels[fov][::4]

    X, y = pixels(21)
    X_test, y_test = pixels(30)
    target = torch.tensor(y, dtype=torch.float32)
    net = torch.nn.Linear(6, 1)
    optimizer = torch.optim.LBFGS(net.parameters(), max_iter=50)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(X)[:, 0], target)
        loss.backward()
        return loss

    optimizer.step(closure)
    assert rank_auc(net(X_test)[:, 0].detach().numpy(), y_test) > 0.85


def test_drive_files_match_the_seeded_sample(drive_dir):
    sample = drive.fundus_sample(21, seed=0)
    image = np.asarray(Image.open(drive_dir / "training/images/21_training.tif"))
    assert np.array_equal(image, sample["image"])
    assert np.array_equal(binary(drive_dir / "training/1st_manual/21_manual1.gif"), sample["vessels"])
    assert np.array_equal(binary(drive_dir / "training/mask/21_training_mask.gif"), sample["fov"])
    other = drive.fundus_sample(21, seed=1)
    assert not np.array_equal(other["vessels"], sample["vessels"])


# --------------------------------------------------------------------------- ALL-IDB

def test_all_idb_official_layout(all_idb_dir):
    crops = sorted(p.name for p in (all_idb_dir / "ALL_IDB2/img").iterdir())
    blasts, normals = range(1, 131), range(131, 261)
    assert crops == [f"Im{n:03d}_1.tif" for n in blasts] + [f"Im{n:03d}_0.tif" for n in normals]
    smears = ["Im001_1", "Im002_0"]
    assert sorted(p.name for p in (all_idb_dir / "ALL_IDB1/im").iterdir()) == [s + ".jpg" for s in smears]
    assert sorted(p.name for p in (all_idb_dir / "ALL_IDB1/xyc").iterdir()) == [s + ".xyc" for s in smears]


def test_all_idb_formats_and_sizes(all_idb_dir):
    crop = Image.open(all_idb_dir / "ALL_IDB2/img/Im001_1.tif")
    assert (crop.format, crop.mode, crop.size) == ("TIFF", "RGB", (257, 257))
    sizes = set()
    for path in (all_idb_dir / "ALL_IDB1/im").iterdir():
        smear = Image.open(path)
        assert smear.format == "JPEG" and smear.mode == "RGB" and smear.size in all_idb.SMEAR_SIZES
        sizes.add(smear.size)
    assert len(sizes) == 2


def read_xyc(path):
    return [tuple(map(int, line.split())) for line in path.read_text().splitlines()]


def test_xyc_centroids_sit_on_blast_nuclei(all_idb_dir):
    for stem, blast in (("Im001_1", True), ("Im002_0", False)):
        centroids = read_xyc(all_idb_dir / f"ALL_IDB1/xyc/{stem}.xyc")
        assert (len(centroids) >= 3) == blast and (len(centroids) == 0) != blast
        image = np.asarray(Image.open(all_idb_dir / f"ALL_IDB1/im/{stem}.jpg"))
        for x, y in centroids:
            assert purple(image[y - 3:y + 4, x - 3:x + 4]).mean() > 0.5


def test_blast_and_normal_crops_separate_by_nucleus_area(all_idb_dir):
    paths = sorted((all_idb_dir / "ALL_IDB2/img").iterdir())
    area = np.array([purple(np.asarray(Image.open(p))).sum() for p in paths])
    label = np.array([p.stem.endswith("_1") for p in paths])
    fit, held = slice(0, None, 2), slice(1, None, 2)
    threshold = max(np.unique(area[fit]), key=lambda t: ((area[fit] >= t) == label[fit]).mean())
    assert ((area[held] >= threshold) == label[held]).mean() > 0.8


def test_crops_and_smears_share_the_scale(all_idb_dir):
    crops = [np.asarray(Image.open(p)) for p in sorted((all_idb_dir / "ALL_IDB2/img").iterdir())[:130]]
    crop_area = np.median([purple(c).sum() for c in crops])
    image = np.asarray(Image.open(all_idb_dir / "ALL_IDB1/im/Im001_1.jpg"))
    smear_areas = [purple(image[max(0, y - 60):y + 61, max(0, x - 60):x + 61]).sum()
                   for x, y in read_xyc(all_idb_dir / "ALL_IDB1/xyc/Im001_1.xyc")]
    assert 0.75 < np.median(smear_areas) / crop_area < 1.33


def test_all_idb_files_match_the_seeded_functions(all_idb_dir):
    crop = all_idb.cell_crop(7, seed=0)
    assert np.array_equal(np.asarray(Image.open(all_idb_dir / "ALL_IDB2/img/Im007_1.tif")), crop)
    assert not np.array_equal(all_idb.cell_crop(7, seed=1), crop)
    image, centroids = all_idb.smear(1, seed=0, n_smears=N_SMEARS)
    again, _ = all_idb.smear(1, seed=0, n_smears=N_SMEARS)
    assert np.array_equal(image, again)
    assert centroids == read_xyc(all_idb_dir / "ALL_IDB1/xyc/Im001_1.xyc")
