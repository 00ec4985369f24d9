"""Tests for course_utils.datasets: loaders on good data, every kind of bad input, splits, status, real DRIVE."""
import shutil

import numpy as np
import pytest
import torch
from fake_datasets import H, W, drive_arrays, fake_makers, save_gif, write_all_idb, write_bccd, write_fashion
from PIL import Image

from course_utils import datasets
from course_utils.datasets import catalog, integrity, reading
from course_utils.datasets.standins import MAKERS


def _error(call, *args):
    with pytest.raises(datasets.DataError) as info:
        call(*args)
    return str(info.value)


# ---------------------------------------------------------------- source resolution
def test_resolve_source_auto_real_synthetic(tmp_path, drive_root):
    assert datasets.resolve_source("drive", "auto", drive_root) == "real"
    assert datasets.resolve_source("drive", "synthetic", drive_root) == "synthetic"
    assert datasets.resolve_source("all_idb", "auto", drive_root) == "synthetic"
    assert not (drive_root / "synthetic").exists()  # resolving never generates


def test_resolve_source_real_absent_names_folder_and_fix(tmp_path):
    message = _error(datasets.resolve_source, "drive", "real", tmp_path / "nowhere")
    assert str(tmp_path / "nowhere" / "DRIVE") in message
    assert "python data_download.py drive --from" in message


def test_resolve_source_rejects_unknown_names(tmp_path):
    with pytest.raises(ValueError, match="data_source"):
        datasets.resolve_source("drive", "reel", tmp_path)
    with pytest.raises(ValueError, match="dataset"):
        datasets.resolve_source("mnist", "auto", tmp_path)


def test_root_defaults_to_course_data(monkeypatch, drive_root):
    monkeypatch.setenv("COURSE_DATA", str(drive_root))
    assert datasets.resolve_source("drive") == "real"


# ---------------------------------------------------------------- DRIVE
def test_load_drive_good_tree_and_write_nothing(drive_root):
    before = sorted((p, p.stat().st_mtime_ns) for p in drive_root.rglob("*"))
    drive = datasets.load_drive("auto", drive_root)
    assert sorted((p, p.stat().st_mtime_ns) for p in drive_root.rglob("*")) == before
    assert [c.name for c in drive.train][:2] == ["21_training", "22_training"] and len(drive.train) == 20
    assert [c.name for c in drive.test][-1] == "20_test" and len(drive.test) == 20
    case = drive.test[0]
    assert case.image.shape == (H, W, 3) and case.image.dtype == np.float32
    assert 0.0 <= case.image.min() and case.image.max() <= 1.0
    expected_image, expected_vessels, expected_fov = drive_arrays(1)
    np.testing.assert_allclose(case.image, expected_image / 255, atol=1e-6)
    assert case.vessels.dtype == bool and np.array_equal(case.vessels, expected_vessels)
    assert np.array_equal(case.fov, expected_fov) and np.array_equal(case.vessels2, expected_vessels)
    assert drive.train[0].vessels2 is None and drive.source == "real" and "01-20" in drive.test_note


def test_load_drive_palette_label_is_thresholded(drive_root):
    """A P-mode GIF whose levels become 3 and 253 in L (like the real 2nd_manual files) stays binary."""
    path = drive_root / "DRIVE" / "test" / "2nd_manual" / "01_manual2.gif"
    _, vessels, _ = drive_arrays(1)
    palette = Image.frombytes("P", (W, H), vessels.astype(np.uint8).tobytes())
    palette.putpalette([3, 3, 3, 253, 253, 253] + [0] * 762)
    palette.save(path)
    assert set(np.unique(np.asarray(Image.open(path).convert("L")))) == {3, 253}
    assert np.array_equal(datasets.load_drive("real", drive_root).test[0].vessels2, vessels)


def test_drive_without_test_labels_uses_held_out_split(drive_root):
    for kind in ("1st_manual", "2nd_manual"):  # the current official release ships neither
        shutil.rmtree(drive_root / "DRIVE" / "test" / kind)
    drive = datasets.load_drive("real", drive_root)
    assert [c.name for c in drive.train] == [f"{n}_training" for n in range(21, 34)]
    assert [c.name for c in drive.test] == [f"{n}_training" for n in range(34, 41)]
    assert all(c.vessels is not None and c.vessels2 is None for c in drive.test)
    assert "1st_manual is absent" in drive.test_note and "34-40" in drive.test_note


def test_drive_validation_split_is_seeded_disjoint_and_named():
    cases = [datasets.DriveImage(f"{n}_training", None, None, None) for n in range(21, 41)]
    split = datasets.drive_validation_split(cases, n_val=4, seed=0)
    assert len(split.train) == 16 and len(split.validation) == 4
    names = [c.name for c in split.train + split.validation]
    assert sorted(names) == [c.name for c in cases]  # every image once, none in both
    assert [c.name for c in split.train] == sorted(c.name for c in split.train)  # order kept
    assert all(c.name in split.note for c in split.validation) and "seed 0" in split.note
    again = datasets.drive_validation_split(cases, n_val=4, seed=0)
    assert [c.name for c in again.validation] == [c.name for c in split.validation]
    other = datasets.drive_validation_split(cases, n_val=4, seed=1)
    assert [c.name for c in other.validation] != [c.name for c in split.validation]
    held_out = datasets.drive_validation_split(cases[:13], n_val=4, seed=0)  # release without test labels
    assert len(held_out.train) == 9 and len(held_out.validation) == 4
    with pytest.raises(ValueError, match="n_val"):
        datasets.drive_validation_split(cases[:4], n_val=4)


def test_missing_root_names_folder_and_fix(tmp_path):
    message = _error(datasets.load_drive, "real", tmp_path / "missing")
    assert "DRIVE is absent" in message and "data_download.py drive --from" in message


def test_partial_drive_names_missing_file(drive_root):
    (drive_root / "DRIVE" / "test" / "mask" / "07_test_mask.gif").unlink()
    message = _error(datasets.load_drive, "real", drive_root)
    assert "missing file" in message and "07_test_mask.gif" in message and "Fix: python data_download.py" in message
    assert datasets.resolve_source("drive", "auto", drive_root) == "synthetic"


def test_wrong_layout_names_missing_folder(tmp_path, drive_template):
    shutil.copytree(drive_template / "training", tmp_path / "DRIVE")  # images/, mask/ ... directly under DRIVE
    message = _error(datasets.load_drive, "real", tmp_path)
    assert f"missing folder {tmp_path / 'DRIVE' / 'training' / 'images'}" in message


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
@pytest.mark.parametrize("damage", ["junk", "truncated"])
def test_corrupt_or_truncated_image(drive_root, damage):
    path = drive_root / "DRIVE" / "training" / "images" / "21_training.tif"
    content = path.read_bytes()
    path.write_bytes(b"not an image" if damage == "junk" else content[: len(content) // 2])
    message = _error(datasets.load_drive, "real", drive_root)
    assert "corrupt or truncated image" in message and str(path) in message


def test_truncated_gif_label(drive_root):
    path = drive_root / "DRIVE" / "training" / "1st_manual" / "21_manual1.gif"
    path.write_bytes(path.read_bytes()[:-200])
    assert str(path) in _error(datasets.load_drive, "real", drive_root)


def test_wrong_image_size(drive_root):
    path = drive_root / "DRIVE" / "training" / "mask" / "21_training_mask.gif"
    save_gif(path, np.ones((H, W - 1), dtype=bool))
    message = _error(datasets.load_drive, "real", drive_root)
    assert str(path) in message and f"{W - 1}×{H}" in message and f"expected {W}×{H}" in message


def test_non_binary_label(drive_root):
    path = drive_root / "DRIVE" / "training" / "1st_manual" / "21_manual1.gif"
    Image.fromarray((np.arange(W * H) % 3 * 100).reshape(H, W).astype(np.uint8)).save(path)
    message = _error(datasets.load_drive, "real", drive_root)
    assert str(path) in message and "not a binary label image: 3 grey levels" in message


def test_label_coded_zero_one_is_rejected(drive_root):
    path = drive_root / "DRIVE" / "training" / "1st_manual" / "21_manual1.gif"
    Image.fromarray(drive_arrays(21)[1].astype(np.uint8)).save(path)
    assert "both on one side of the threshold" in _error(datasets.load_drive, "real", drive_root)


# ---------------------------------------------------------------- Fashion-MNIST
def test_load_fashion_mnist_in_memory(tmp_path):
    write_fashion(tmp_path / "FashionMNIST")
    fashion = datasets.load_fashion_mnist("real", tmp_path)
    assert fashion.X_train.shape == (20, 1, 28, 28) and fashion.X_test.shape == (10, 1, 28, 28)
    assert fashion.X_train.dtype.is_floating_point and 0 <= fashion.X_train.min() and fashion.X_train.max() <= 1
    assert fashion.y_train.tolist() == [i % 10 for i in range(20)] and str(fashion.y_test.dtype) == "torch.int64"
    assert fashion.classes[0] == "T-shirt/top" and len(fashion.classes) == 10 and fashion.source == "real"


def test_fashion_truncated_or_missing_idx(tmp_path):
    write_fashion(tmp_path / "FashionMNIST")
    path = tmp_path / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    message = _error(datasets.load_fashion_mnist, "real", tmp_path)
    assert str(path) in message and "truncated" in message and "data_download.py fashion-mnist" in message
    path.unlink()
    assert f"missing file {path}" in _error(datasets.load_fashion_mnist, "real", tmp_path)


def test_fashion_bad_header(tmp_path):
    write_fashion(tmp_path / "FashionMNIST")
    path = tmp_path / "FashionMNIST" / "raw" / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03" + path.read_bytes()[4:])
    assert f"{path} is not an idx file" in _error(datasets.load_fashion_mnist, "real", tmp_path)


# ---------------------------------------------------------------- ALL-IDB
@pytest.fixture
def all_idb_root(tmp_path, monkeypatch):
    """A data root with a tiny real-layout ALL-IDB; the official counts are lowered to match it."""
    monkeypatch.setitem(catalog.ALL_IDB_COUNTS, "cells", 4)
    monkeypatch.setitem(catalog.ALL_IDB_COUNTS, "smears", 2)
    write_all_idb(tmp_path / "ALL_IDB")
    return tmp_path


def test_load_all_idb2(all_idb_root):
    cells = datasets.load_all_idb2("real", all_idb_root)
    assert cells.names == ["Im001_1", "Im002_1", "Im003_0", "Im004_0"]
    assert cells.labels.tolist() == [1, 1, 0, 0] and cells.labels.dtype == np.int64
    assert all(image.shape == (257, 257, 3) and image.dtype == np.uint8 for image in cells.images)


def test_load_all_idb1_with_centroids(all_idb_root):
    smears = datasets.load_all_idb1("real", all_idb_root)
    assert smears.names == ["Im001_1", "Im002_0"] and smears.labels.tolist() == [1, 0]
    assert smears.images[0].shape == (48, 64, 3) and smears.images[1].shape == (40, 80, 3)
    assert smears.centroids[0].tolist() == [[10.0, 20.0], [30.0, 40.0]] and smears.centroids[1].shape == (0, 2)


def test_parse_xyc_rejects_bad_line(tmp_path):
    assert reading.parse_xyc("1 2\n\n3.5 4\n").tolist() == [[1.0, 2.0], [3.5, 4.0]]
    with pytest.raises(datasets.DataError, match="line 2"):
        reading.parse_xyc("1 2\n3 four\n", "x.xyc")
    with pytest.raises(datasets.DataError, match="line 1"):
        reading.parse_xyc("1 2 3\n", "x.xyc")


def test_all_idb_bad_inputs(all_idb_root):
    folder = all_idb_root / "ALL_IDB"
    (folder / "ALL_IDB1" / "xyc" / "Im001_1.xyc").unlink()
    assert "Im001_1.xyc" in _error(datasets.load_all_idb1, "real", all_idb_root)
    write_all_idb(all_idb_root / "fresh" / "ALL_IDB")
    cell = all_idb_root / "fresh" / "ALL_IDB" / "ALL_IDB2" / "img" / "Im002_1.tif"
    Image.new("RGB", (256, 257)).save(cell)
    message = _error(datasets.load_all_idb2, "real", all_idb_root / "fresh")
    assert str(cell) in message and "256×257" in message and "data_download.py all-idb" in message


def test_all_idb_real_counts_are_checked(tmp_path):
    write_all_idb(tmp_path / "ALL_IDB")
    message = _error(datasets.load_all_idb2, "real", tmp_path)
    assert "holds 4 ImNNN_L.tif files, expected 260" in message


def test_synthetic_folder_is_read_without_counts(tmp_path):
    write_all_idb(tmp_path / "synthetic" / "ALL_IDB")
    cells = datasets.load_all_idb2("auto", tmp_path)
    assert cells.source == "synthetic" and len(cells.images) == 4
    assert cells.root == tmp_path / "synthetic" / "ALL_IDB"


def test_synthetic_error_names_synthetic_fix(tmp_path):
    write_all_idb(tmp_path / "synthetic" / "ALL_IDB")
    (tmp_path / "synthetic" / "ALL_IDB" / "ALL_IDB1" / "im" / "Im001_1.jpg").write_bytes(b"junk")
    assert "Fix: python data_download.py synthetic" in _error(datasets.load_all_idb1, "synthetic", tmp_path)


def test_synthetic_generated_once_on_first_use(tmp_path, monkeypatch, capsys, drive_template):
    calls = []
    fake_makers(monkeypatch, calls, drive_template)
    drive = datasets.load_drive("auto", tmp_path)
    assert drive.source == "synthetic" and drive.root == tmp_path / "synthetic" / "DRIVE"
    assert "generating the synthetic DRIVE stand-in" in capsys.readouterr().out
    assert datasets.load_fashion_mnist("synthetic", tmp_path).X_test.shape == (10, 1, 28, 28)
    datasets.load_drive("synthetic", tmp_path)
    assert calls == ["DRIVE", "FashionMNIST"] and not (tmp_path / "DRIVE").exists()


def test_unwritable_root_gives_clear_error(tmp_path, monkeypatch):
    def refuse(out_dir, seed=0):
        raise PermissionError(f"[Errno 13] Permission denied: '{out_dir}'")
    monkeypatch.setitem(MAKERS, "all_idb", refuse)
    message = _error(datasets.load_all_idb2, "auto", tmp_path)
    assert "cannot write the synthetic stand-in" in message and "COURSE_DATA" in message


# ---------------------------------------------------------------- stratified split
def test_stratified_split_exact_and_proportional():
    labels = np.array([0] * 130 + [1] * 130)
    train_idx, test_idx = datasets.stratified_split(labels, 60, seed=0)
    assert len(test_idx) == 60 and len(train_idx) == 200
    assert np.bincount(labels[test_idx]).tolist() == [30, 30]
    assert sorted(np.concatenate([train_idx, test_idx]).tolist()) == list(range(260))


def test_stratified_split_uneven_classes_and_seed():
    labels = np.array([0] * 7 + [1] * 3 + [2] * 10)
    train_idx, test_idx = datasets.stratified_split(labels, 5, seed=1)
    assert np.bincount(labels[test_idx], minlength=3).tolist() == [2, 1, 2]  # shares 1.75, 0.75, 2.5
    again = datasets.stratified_split(labels, 5, seed=1)[1]
    other = [tuple(datasets.stratified_split(labels, 5, seed=s)[1]) for s in range(2, 8)]
    assert np.array_equal(test_idx, again) and any(o != tuple(test_idx) for o in other)


def test_stratified_split_accepts_torch_labels():
    labels = torch.arange(100) % 10
    train_idx, test_idx = datasets.stratified_split(labels, 20, seed=0)
    assert torch.bincount(labels[test_idx], minlength=10).tolist() == [2] * 10 and len(train_idx) == 80


def test_stratified_split_rejects_bad_sizes():
    for n_test in (0, 4):
        with pytest.raises(ValueError, match="n_test"):
            datasets.stratified_split([0, 1, 0, 1], n_test, seed=0)


# ---------------------------------------------------------------- manifests and status
def _rows(root):
    return {row["dataset"]: row for row in datasets.dataset_status(root)}


def test_status_absent_present_incomplete(drive_root):
    rows = _rows(drive_root)
    assert rows["DRIVE"]["state"] == "present" and "no manifest" in rows["DRIVE"]["detail"]
    assert rows["FashionMNIST"]["state"] == "absent" and "fashion-mnist" in rows["FashionMNIST"]["action"]
    assert rows["synthetic"]["state"] == "absent"
    (drive_root / "DRIVE" / "training" / "images" / "30_training.tif").unlink()
    row = _rows(drive_root)["DRIVE"]
    assert row["state"] == "incomplete" and "30_training.tif" in row["detail"] and "--from" in row["action"]


def test_manifest_detects_changed_and_missing_file(drive_root):
    count = integrity.write_manifest(drive_root, "DRIVE", integrity.manifest_path(drive_root, "drive"))
    assert count == 140 and _rows(drive_root)["DRIVE"]["detail"] == "checksums match"
    path = drive_root / "DRIVE" / "test" / "images" / "05_test.tif"
    path.write_bytes(path.read_bytes()[:-1] + b"\x01")
    row = _rows(drive_root)["DRIVE"]
    assert row["state"] == "checksum mismatch" and str(path) in row["detail"]
    (drive_root / "DRIVE" / "test" / "2nd_manual" / "05_manual2.gif").unlink()
    assert "05_manual2.gif is listed" in integrity.manifest_problem(drive_root, "drive")


def test_status_reports_leftover_import_folder(tmp_path):
    (tmp_path / ".import-DRIVE-abc" / "old" / "DRIVE").mkdir(parents=True)
    assert _rows(tmp_path)[".import-DRIVE-abc"]["state"] == "leftover temp folder"


# ---------------------------------------------------------------- real DRIVE and BCCD (skipped when absent)
def test_real_drive_counts_sizes_labels(real_drive_with_test_labels):
    drive = real_drive_with_test_labels
    assert len(drive.train) == 20 and len(drive.test) == 20 and drive.source == "real"
    cases = drive.train + drive.test
    assert all(c.image.shape == (584, 565, 3) and c.fov.shape == (584, 565) for c in cases)
    assert all(c.vessels.dtype == bool and c.vessels.any() and not c.vessels.all() for c in cases)
    assert all(c.vessels2 is not None and c.vessels2.shape == (584, 565) for c in drive.test)
    assert "official test images 01-20" in drive.test_note


def test_real_drive_fractions(real_drive):
    cases = real_drive.train + real_drive.test  # labelled cases, with or without the test manuals
    fov_fraction = np.mean([c.fov.mean() for c in cases])
    vessel_frame = np.mean([c.vessels.mean() for c in cases])
    vessel_fov = np.mean([c.vessels[c.fov].mean() for c in cases])
    assert 0.6 < fov_fraction < 0.75  # measured 0.688
    assert 0.07 < vessel_frame < 0.13  # measured 0.087
    assert 0.07 < vessel_fov < 0.15  # measured 0.126


def test_real_drive_status_is_present_and_read_only(real_drive_root):
    def listing():
        return sorted((p, p.stat().st_mtime_ns) for p in real_drive_root.joinpath("DRIVE").resolve().rglob("*"))
    before, root_before = listing(), sorted(real_drive_root.iterdir())
    rows = _rows(real_drive_root)
    assert rows["DRIVE"]["state"] == "present" and datasets.resolve_source("drive", "auto", real_drive_root) == "real"
    assert listing() == before and sorted(real_drive_root.iterdir()) == root_before


def test_bccd_tiny_tree_counts_only_when_synthetic(tmp_path):
    write_bccd(tmp_path / "synthetic" / "BCCD")
    photos = datasets.load_bccd("synthetic", tmp_path)
    assert photos.names == ["BloodImage_00000", "BloodImage_00001", "BloodImage_00002"]
    assert photos.images[0].shape == (480, 640, 3) and photos.images[0].dtype == np.uint8
    assert photos.boxes[0]["WBC"].tolist() == [[100, 50, 300, 230]] and photos.boxes[2]["WBC"].shape == (0, 4)
    assert photos.centres(0).tolist() == [[200, 140]] and len(photos.boxes[0]["RBC"]) == 1
    assert {k: v.tolist() for k, v in photos.splits.items()} == {"train": [0], "val": [1], "test": [2]}
    write_bccd(tmp_path / "BCCD")  # as a real copy it lacks 361 photographs
    assert "holds 3 BloodImage_NNNNN.jpg files, expected 364" in _error(datasets.load_bccd, "real", tmp_path)


def test_bccd_bad_inputs_name_file_and_fix(tmp_path):
    folder = write_bccd(tmp_path / "synthetic" / "BCCD")
    (folder / "Annotations" / "BloodImage_00001.xml").write_text("<annotation><object>")
    message = _error(datasets.load_bccd, "synthetic", tmp_path)
    assert "BloodImage_00001.xml" in message and "Pascal VOC" in message and "Fix:" in message
    folder = write_bccd(tmp_path / "two" / "synthetic" / "BCCD")
    (folder / "ImageSets" / "Main" / "test.txt").write_text("BloodImage_00099\n")
    assert "lists BloodImage_00099" in _error(datasets.load_bccd, "synthetic", tmp_path / "two")
    (folder / "Annotations" / "BloodImage_00000.xml").unlink()
    assert "BloodImage_00000.xml" in _error(datasets.load_bccd, "synthetic", tmp_path / "two")


def test_parse_voc_boxes_keeps_bccd_classes():
    text = ("<annotation><object><name>WBC</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax>"
            "</bndbox></object><object><name>dog</name><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>1</xmax>"
            "<ymax>1</ymax></bndbox></object></annotation>")
    boxes = reading.parse_voc_boxes(text)
    assert boxes["WBC"].tolist() == [[1, 2, 3, 4]] and boxes["Platelets"].shape == (0, 4) and "dog" not in boxes


def test_real_bccd_counts(real_bccd):
    photos = real_bccd
    assert len(photos.images) == 364 and sum(len(b["WBC"]) for b in photos.boxes) == 372
    assert [len(photos.splits[k]) for k in ("train", "val", "test")] == [205, 87, 72]
    assert sum(len(b["WBC"]) == 0 for b in photos.boxes) == 6


def test_validation_split_is_seeded_disjoint_and_keeps_order():
    items = [f"{n}_training" for n in range(21, 41)]
    train, val = datasets.validation_split(items, 4, seed=0)
    assert len(train) == 16 and len(val) == 4 and sorted(train + val) == sorted(items)
    assert train == sorted(train) and val == sorted(val)
    assert datasets.validation_split(items, 4, seed=0) == (train, val)
    assert datasets.validation_split(items, 4, seed=1)[1] != val
    for bad in (0, 20):
        with pytest.raises(ValueError, match="num_val must be between 1 and 19"):
            datasets.validation_split(items, bad)


def test_fashion_splits_are_stratified_disjoint_and_flat():
    y = torch.arange(200) % 10
    X = torch.arange(200, dtype=torch.float32).view(200, 1, 1, 1).expand(200, 1, 28, 28).contiguous()
    fm = datasets.FashionMNISTData(X, y, X[:30], y[:30], [], "synthetic", None)
    s = datasets.fashion_splits(fm, n_val=50, n_train=100, seed=0)
    assert s.X.shape == (100, 784) and s.X_val.shape == (50, 784) and s.X_test.shape == (30, 784)
    train_ids, val_ids = set(s.X[:, 0].tolist()), set(s.X_val[:, 0].tolist())
    assert not train_ids & val_ids  # no image in both
    assert torch.bincount(s.y_val, minlength=10).tolist() == [5] * 10
    assert torch.equal(s.y, y[s.X[:, 0].long()]) and torch.equal(s.y_test, y[:30])
    assert len(datasets.fashion_splits(fm, n_val=50, seed=0).X) == 150  # n_train None: all the rest
