"""Tests for data_download.py: imports from zip/folder, unsafe archives, atomicity, --force, status, offline."""
import gzip
import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fake_datasets import fake_makers, write_all_idb, write_bccd, write_fashion, write_idx

from course_utils import data_commands, data_download, data_import, datasets
from course_utils.datasets import catalog
from course_utils.datasets.integrity import manifest_path, manifest_problem, write_manifest


@pytest.fixture
def drive_source(drive_template):
    """A downloaded-looking folder holding the official DRIVE tree (shared, read-only by convention)."""
    return drive_template.parent


@pytest.fixture(scope="module")
def imported_template(tmp_path_factory, drive_template):
    """A data root into which the CLI imported DRIVE once (copied by the tests that change it)."""
    root = tmp_path_factory.mktemp("imported")
    assert data_download.main(["drive", "--from", str(drive_template.parent), "--root", str(root)]) == 0
    return root


def make_zip(path, folder, prefix):
    """Zip every file under folder with member names prefix/<relative path>."""
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, f"{prefix}/{file.relative_to(folder).as_posix()}")
    return path


def synthetic_row(root):
    """The status row of the synthetic stand-ins."""
    return next(row for row in datasets.dataset_status(root) if row["dataset"] == "synthetic")


def cli(*args):
    return data_download.main([str(a) for a in args])


def leftovers(root):
    return sorted(p.name for p in root.glob(".import-*"))


def test_import_nested_zip(tmp_path, drive_source, capsys):
    archive = make_zip(tmp_path / "DRIVE.zip", drive_source / "DRIVE", "datasets/DRIVE")
    root = tmp_path / "data"
    assert cli("drive", "--from", archive, "--root", root) == 0
    assert "140 files verified" in capsys.readouterr().out
    assert manifest_path(root, "drive").read_text().count("  DRIVE/") == 140
    assert manifest_problem(root, "drive") is None and leftovers(root) == []
    assert len(datasets.load_drive("real", root).test) == 20


def test_import_two_zips_matches_folder_import(tmp_path, drive_source, imported_template):
    training = make_zip(tmp_path / "training.zip", drive_source / "DRIVE" / "training", "training")
    test = make_zip(tmp_path / "test.zip", drive_source / "DRIVE" / "test", "test")
    assert cli("drive", "--from", training, test, "--root", tmp_path / "a") == 0
    assert (tmp_path / "a" / "DRIVE.sha256").read_text() == (imported_template / "DRIVE.sha256").read_text()


@pytest.mark.parametrize("entry", ["../evil.txt", "DRIVE/../../evil.txt", "/tmp/evil.txt", "C:\\evil.txt"])
def test_unsafe_archive_is_rejected(tmp_path, drive_source, capsys, entry):
    archive = make_zip(tmp_path / "DRIVE.zip", drive_source / "DRIVE", "DRIVE")
    with zipfile.ZipFile(archive, "a") as bad:
        bad.writestr(zipfile.ZipInfo(entry), b"payload")
    root = tmp_path / "data"
    assert cli("drive", "--from", archive, "--root", root) == 1
    assert "unsafe entry" in capsys.readouterr().err
    assert not (root / "DRIVE").exists() and leftovers(root) == [] and not (tmp_path / "evil.txt").exists()


def test_wrong_layout_is_rejected_before_anything_is_placed(tmp_path, drive_source, capsys):
    archive = make_zip(tmp_path / "flat.zip", drive_source / "DRIVE" / "training", "DRIVE/train")
    root = tmp_path / "data"
    assert cli("drive", "--from", archive, "--root", root) == 1
    assert "no folder 'training'" in capsys.readouterr().err
    assert not (root / "DRIVE").exists() and leftovers(root) == []


def test_bad_image_in_archive_is_rejected(tmp_path, drive_source, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(drive_source / "DRIVE", copy / "DRIVE")
    (copy / "DRIVE" / "test" / "images" / "03_test.tif").write_bytes(b"broken")
    assert cli("drive", "--from", copy, "--root", tmp_path / "data") == 1
    assert "03_test.tif" in capsys.readouterr().err
    assert not (tmp_path / "data" / "DRIVE").exists() and leftovers(tmp_path / "data") == []


@pytest.fixture
def imported(tmp_path, imported_template):
    """A fresh copy of a data root with an imported DRIVE and its manifest."""
    shutil.copytree(imported_template, tmp_path / "data")
    return tmp_path / "data"


def test_existing_good_copy_needs_force(imported, drive_source, capsys):
    root = imported
    manifest = manifest_path(root, "drive").read_text()
    assert cli("drive", "--from", drive_source, "--root", root) == 1
    err = capsys.readouterr().err
    assert "already present and verified" in err and "add --force" in err
    assert manifest_path(root, "drive").read_text() == manifest


def test_force_replaces_and_removes_old_copy(tmp_path, imported, drive_source):
    root = imported
    newer = tmp_path / "newer"
    shutil.copytree(drive_source / "DRIVE", newer / "DRIVE")
    shutil.rmtree(newer / "DRIVE" / "test" / "1st_manual")  # the current release: no test labels
    (root / "DRIVE" / "marker.txt").write_text("old copy")
    assert cli("drive", "--from", newer, "--root", root, "--force") == 0
    assert not (root / "DRIVE" / "marker.txt").exists() and not (root / "DRIVE" / "test" / "1st_manual").exists()
    assert manifest_problem(root, "drive") is None and leftovers(root) == []
    assert "held out" in datasets.load_drive("real", root).test_note


def test_broken_copy_is_replaced_without_force(imported, drive_source, capsys):
    root = imported
    (root / "DRIVE" / "training" / "mask" / "22_training_mask.gif").unlink()
    assert cli("drive", "--from", drive_source, "--root", root) == 0
    assert "not usable and will be replaced" in capsys.readouterr().out
    assert datasets.dataset_status(root)[1]["state"] == "present"


@pytest.mark.parametrize("failure", [datasets.DataError("verification failed"), KeyboardInterrupt()])
def test_interrupted_import_keeps_old_copy(imported, drive_source, monkeypatch, failure):
    root = imported
    manifest = manifest_path(root, "drive").read_text()

    def fail(*args, **kwargs):
        raise failure
    monkeypatch.setattr(data_import, "verify_dataset", fail)
    assert cli("drive", "--from", drive_source, "--root", root, "--force") in (1, 130)
    assert leftovers(root) == [] and manifest_path(root, "drive").read_text() == manifest
    assert manifest_problem(root, "drive") is None


def test_failure_while_swapping_rolls_back(imported, drive_source, monkeypatch):
    root = imported
    (root / "DRIVE" / "marker.txt").write_text("old copy")
    write_manifest(root, "DRIVE", manifest_path(root, "drive"))
    real_replace = os.replace

    def fail_on_manifest(source, target):
        if str(target).endswith("DRIVE.sha256"):
            raise OSError("disk full")
        return real_replace(source, target)
    monkeypatch.setattr(os, "replace", fail_on_manifest)
    with pytest.raises(datasets.DataError, match="disk full"):
        data_commands.import_dataset("drive", [drive_source], root, force=True)
    assert (root / "DRIVE" / "marker.txt").read_text() == "old copy" and leftovers(root) == []
    assert manifest_problem(root, "drive") is None


def test_status_after_import_detects_checksum_mismatch(imported, capsys):
    root = imported
    assert cli("status", "--root", root) == 0
    assert "checksums match" in capsys.readouterr().out
    path = root / "DRIVE" / "training" / "images" / "25_training.tif"
    path.write_bytes(path.read_bytes()[:-1] + b"\x07")
    assert cli("status", "--root", root) == 0
    out = capsys.readouterr().out
    assert "checksum mismatch" in out and "25_training.tif" in out


def test_without_from_prints_registration(tmp_path, capsys):
    assert cli("drive", "--root", tmp_path) == 1
    assert "drive.grand-challenge.org" in capsys.readouterr().err
    assert cli("all-idb", "--root", tmp_path) == 1
    assert "scotti.di.unimi.it/all" in capsys.readouterr().err


def test_missing_or_unknown_source_path(tmp_path, capsys):
    assert cli("drive", "--from", tmp_path / "nothing.zip", "--root", tmp_path) == 1
    assert "nothing.zip does not exist" in capsys.readouterr().err
    (tmp_path / "DRIVE.rar").write_bytes(b"Rar!")
    assert cli("drive", "--from", tmp_path / "DRIVE.rar", "--root", tmp_path) == 1
    assert "neither a folder nor a zip" in capsys.readouterr().err


def test_all_idb_import_from_two_zips(tmp_path, monkeypatch):
    monkeypatch.setitem(catalog.ALL_IDB_COUNTS, "cells", 4)
    monkeypatch.setitem(catalog.ALL_IDB_COUNTS, "smears", 2)
    tree = write_all_idb(tmp_path / "download" / "ALL_IDB")
    part1 = make_zip(tmp_path / "ALL_IDB1.zip", tree / "ALL_IDB1", "ALL_IDB1")
    part2 = make_zip(tmp_path / "ALL_IDB2.zip", tree / "ALL_IDB2", "ALL_IDB2")
    assert cli("all-idb", "--from", part1, part2, "--root", tmp_path / "data") == 0
    assert datasets.load_all_idb1("real", tmp_path / "data").centroids[0].shape == (2, 2)
    assert manifest_problem(tmp_path / "data", "all_idb") is None


@pytest.fixture
def small_fashion(monkeypatch, tmp_path):
    """Official counts shrunk to the generated files' 20 + 10 images, no Debian copy; the generated folder."""
    monkeypatch.setitem(catalog.FASHION_COUNTS, "train", 20)
    monkeypatch.setitem(catalog.FASHION_COUNTS, "t10k", 10)
    monkeypatch.setattr(data_commands, "DEBIAN_FASHION", tmp_path / "no-debian-copy")
    return write_fashion(tmp_path / "download" / "FashionMNIST") / "raw"


def gzip_all(folder):
    """Replace every file in folder by its .gz (as Debian ships them)."""
    for path in sorted(folder.iterdir()):
        (folder / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    return folder


def fashion_rejected(source, root, capsys, *expected):
    """The import fails with one message holding every expected piece, and leaves the root as it was."""
    assert cli("fashion-mnist", "--from", source, "--root", root) == 1
    err = capsys.readouterr().err
    assert all(piece in err for piece in expected), err
    assert not (root / "FashionMNIST").exists() and leftovers(root) == []


def test_fashion_import_flat_folder(small_fashion, tmp_path, capsys):
    root = tmp_path / "data"
    assert cli("fashion-mnist", "--from", small_fashion, "--root", root) == 0
    assert "4 files, 20 + 10 images" in capsys.readouterr().out
    assert manifest_problem(root, "fashion_mnist") is None and leftovers(root) == []
    assert datasets.load_fashion_mnist("real", root).y_train.tolist() == [i % 10 for i in range(20)]
    assert datasets.dataset_status(root)[0]["detail"] == "checksums match"


@pytest.mark.parametrize("layout", ["FashionMNIST/raw", "fashion-mnist/data/fashion", ""])
def test_fashion_import_gzipped_zip_in_usual_layouts(small_fashion, tmp_path, layout):
    archive = make_zip(tmp_path / "fm.zip", gzip_all(small_fashion), layout or ".")
    root = tmp_path / "data"
    assert cli("fashion-mnist", "--from", archive, "--root", root) == 0
    assert sorted(p.name for p in (root / "FashionMNIST" / "raw").iterdir()) == sorted(catalog.FASHION_FILES)
    assert datasets.load_fashion_mnist("real", root).X_test.shape == (10, 1, 28, 28)


def test_fashion_import_truncated_gz(small_fashion, tmp_path, capsys):
    gzip_all(small_fashion)
    path = small_fashion / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-40])
    fashion_rejected(small_fashion, tmp_path / "data", capsys, str(path), "not a complete gzip file")


def test_fashion_import_wrong_magic(small_fashion, tmp_path, capsys):
    path = small_fashion / "t10k-labels-idx1-ubyte"
    path.write_bytes((2051).to_bytes(4, "big") + path.read_bytes()[4:])
    fashion_rejected(small_fashion, tmp_path / "data", capsys, str(path), "magic number 2051, expected 2049")


def test_fashion_import_one_image_short(small_fashion, tmp_path, capsys):
    images = np.zeros((19, 28, 28))
    write_idx(small_fashion / "train-images-idx3-ubyte", images, 2051)
    write_idx(small_fashion / "train-labels-idx1-ubyte", np.arange(19) % 10, 2049)
    fashion_rejected(small_fashion, tmp_path / "data", capsys, str(small_fashion / "train-images-idx3-ubyte"),
                     "holds 19 images, expected 20")


def test_fashion_import_images_and_labels_disagree(small_fashion, tmp_path, capsys):
    write_idx(small_fashion / "t10k-labels-idx1-ubyte", np.arange(9) % 10, 2049)
    fashion_rejected(small_fashion, tmp_path / "data", capsys, "holds 10 images but",
                     str(small_fashion / "t10k-labels-idx1-ubyte"))


@pytest.mark.parametrize("labels, expected", [(np.r_[np.arange(19) % 10, 10], "label 10 at item 19"),
                                              (np.r_[np.arange(19) % 10, 0], "not balanced")])
def test_fashion_import_bad_labels(small_fashion, tmp_path, capsys, labels, expected):
    write_idx(small_fashion / "train-labels-idx1-ubyte", labels, 2049)
    fashion_rejected(small_fashion, tmp_path / "data", capsys, str(small_fashion / "train-labels-idx1-ubyte"),
                     expected)


def test_fashion_import_missing_file(small_fashion, tmp_path, capsys):
    (small_fashion / "t10k-images-idx3-ubyte").unlink()
    fashion_rejected(small_fashion, tmp_path / "data", capsys, str(small_fashion), "lacks t10k-images-idx3-ubyte")


def test_fashion_import_keeps_good_copy_and_force_replaces_it(small_fashion, tmp_path, capsys):
    root = tmp_path / "data"
    assert cli("fashion-mnist", "--from", small_fashion, "--root", root) == 0
    manifest = manifest_path(root, "fashion_mnist").read_text()
    assert cli("fashion-mnist", "--from", small_fashion, "--root", root) == 1
    assert "add --force" in capsys.readouterr().err
    assert manifest_path(root, "fashion_mnist").read_text() == manifest
    assert cli("fashion-mnist", "--from", gzip_all(small_fashion), "--root", root, "--force") == 0
    assert manifest_path(root, "fashion_mnist").read_text() == manifest and leftovers(root) == []


def test_fashion_without_from_uses_debian_copy(small_fashion, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data_commands, "DEBIAN_FASHION", gzip_all(small_fashion))
    monkeypatch.setattr(data_commands, "fashion_mnist_class", lambda: pytest.fail("must not download"))
    assert cli("fashion-mnist", "--root", tmp_path / "data") == 0
    assert "using Debian's copy" in capsys.readouterr().out
    assert manifest_problem(tmp_path / "data", "fashion_mnist") is None


def test_status_decodes_copy_without_manifest(small_fashion, tmp_path, drive_template):
    root = tmp_path / "data"
    shutil.copytree(small_fashion.parent, root / "FashionMNIST")
    shutil.copytree(drive_template, root / "DRIVE")
    rows = {row["dataset"]: row for row in datasets.dataset_status(root)}
    assert rows["FashionMNIST"]["state"] == rows["DRIVE"]["state"] == "present"
    labels = root / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1] + b"\x0c")
    tif = root / "DRIVE" / "training" / "images" / "25_training.tif"
    tif.write_bytes(tif.read_bytes()[: tif.stat().st_size // 2])
    rows = {row["dataset"]: row for row in datasets.dataset_status(root)}
    assert rows["FashionMNIST"]["state"] == "corrupt" and str(labels) in rows["FashionMNIST"]["detail"]
    assert rows["DRIVE"]["state"] == "corrupt" and str(tif) in rows["DRIVE"]["detail"]
    assert "re-import" in rows["DRIVE"]["action"]


REAL_FASHION_SHA256 = {  # ../shared/data/README.md, decompressed files
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"}


def test_import_real_fashion_mnist(tmp_path, capsys, real_fashion_folder):
    assert cli("fashion-mnist", "--from", real_fashion_folder, "--root", tmp_path) == 0
    assert "60,000 + 10,000 images" in capsys.readouterr().out
    raw = tmp_path / "FashionMNIST" / "raw"
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in raw.iterdir()} == REAL_FASHION_SHA256
    assert datasets.dataset_status(tmp_path)[0]["state"] == "present"
    fashion = datasets.load_fashion_mnist("real", tmp_path)
    assert fashion.y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert abs(fashion.X_train.mean().item() * 255 - 72.94) < 0.01


def test_fashion_mnist_offline_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data_commands, "DEBIAN_FASHION", tmp_path / "no-debian-copy")

    def offline(root, train, download):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\n<urlopen error Name or service not known>")
    monkeypatch.setattr(data_commands, "fashion_mnist_class", lambda: offline)
    assert cli("fashion-mnist", "--root", tmp_path) == 1
    err = capsys.readouterr().err
    assert "offline" in err and "synthetic stand-in" in err and "Name or service not known" in err
    assert not (tmp_path / "FashionMNIST").exists() and leftovers(tmp_path) == []


def test_fashion_mnist_download_is_installed_atomically(small_fashion, tmp_path, monkeypatch):
    def fake_download(root, train, download):
        if not (Path(root) / "FashionMNIST").exists():
            write_fashion(Path(root) / "FashionMNIST")
    monkeypatch.setattr(data_commands, "fashion_mnist_class", lambda: fake_download)
    assert cli("fashion-mnist", "--root", tmp_path / "data") == 0
    assert datasets.load_fashion_mnist("real", tmp_path / "data").X_train.shape == (20, 1, 28, 28)
    assert manifest_problem(tmp_path / "data", "fashion_mnist") is None and leftovers(tmp_path / "data") == []


def test_root_option_overrides_course_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "env"))
    assert cli("status") == 0
    assert f"data root: {tmp_path / 'env'}" in capsys.readouterr().out
    assert cli("status", "--root", tmp_path / "option") == 0
    assert f"data root: {tmp_path / 'option'}" in capsys.readouterr().out


def test_expected_failure_is_one_line_without_traceback(tmp_path, capsys):
    assert cli("drive", "--from", tmp_path / "missing", "--root", tmp_path) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err


def test_import_real_drive(tmp_path, capsys, real_drive_root):
    assert cli("drive", "--from", real_drive_root.joinpath("DRIVE").resolve(), "--root", tmp_path) == 0
    assert cli("status", "--root", tmp_path) == 0
    lines = capsys.readouterr().out.splitlines()
    drive_line = next(line for line in lines if line.startswith("DRIVE "))
    assert "present" in drive_line and manifest_problem(tmp_path, "drive") is None
    assert np.mean([c.fov.mean() for c in datasets.load_drive("real", tmp_path).train]) > 0.6


def test_synthetic_command_generates_and_repairs(tmp_path, monkeypatch, capsys, drive_template):
    calls = []
    fake_makers(monkeypatch, calls, drive_template)
    assert cli("synthetic", "--root", tmp_path) == 0
    assert sorted(calls) == ["ALL_IDB", "BCCD", "DRIVE", "FashionMNIST"]
    assert synthetic_row(tmp_path)["state"] == "present"
    (tmp_path / "synthetic" / "DRIVE" / "test" / "images" / "04_test.tif").write_bytes(b"junk")
    capsys.readouterr()
    assert cli("synthetic", "--root", tmp_path) == 0
    assert "regenerating the synthetic DRIVE" in capsys.readouterr().out and calls.count("DRIVE") == 2
    assert synthetic_row(tmp_path)["state"] == "present"


# ---------------------------------------------------------------- BCCD
def test_bccd_import_checks_the_release_and_leaves_nothing(tmp_path, capsys):
    source = write_bccd(tmp_path / "download" / "BCCD")
    root = tmp_path / "data"
    assert cli("bccd", "--from", source.parent, "--root", root) == 1
    err = capsys.readouterr().err
    assert "differ from the release" in err and "d272fb1" in err and "nothing was changed" in err
    assert not (root / "BCCD").exists() and leftovers(root) == []


def test_bccd_offline_download_says_what_to_do(tmp_path, capsys, monkeypatch):
    def offline(url, target):
        raise OSError("Name or service not known")
    monkeypatch.setattr(data_commands.urllib.request, "urlretrieve", offline)
    assert cli("bccd", "--root", tmp_path) == 1
    err = capsys.readouterr().err
    assert "offline" in err and "bccd --from" in err and data_commands.BCCD_URL in err and leftovers(tmp_path) == []


def test_import_real_bccd_from_zip_then_force(tmp_path, capsys, real_bccd_folder):
    inside = f"BCCD_Dataset-{data_commands.BCCD_COMMIT}/BCCD"
    archive = make_zip(tmp_path / "BCCD_Dataset.zip", real_bccd_folder, inside)
    root = tmp_path / "data"
    assert cli("bccd", "--from", archive, "--root", root) == 0
    assert "733 files verified" in capsys.readouterr().out
    assert manifest_problem(root, "bccd") is None and leftovers(root) == []
    assert cli("bccd", "--from", archive, "--root", root) == 1
    assert "--force" in capsys.readouterr().err
    (root / "BCCD" / "JPEGImages" / "BloodImage_00000.jpg").write_bytes(b"junk")
    assert cli("bccd", "--force", "--from", real_bccd_folder, "--root", root) == 0
    assert manifest_problem(root, "bccd") is None and len(datasets.load_bccd("real", root).images) == 364
