"""Students' changes (issue 8): notebooks run cleanly with other parameter values in smoke mode, and invalid
values stop right after the parameters cell with a message naming the parameter."""
import pytest
from nbrun import error_of, run

pytestmark = pytest.mark.usefixtures("smoke_env")

VALID = {
    "01a_fashion_mnist_autoencoder_end_to_end.ipynb": {"batch_size": 128, "hidden": 64, "lr": 0.1,
                                                       "data_source": "synthetic", "seed": 3},
    "01b_fashion_mnist_layerwise_pretraining.ipynb": {"batch_size": 256, "hidden": 50,
                                                      "compare_end_to_end": False, "seed": 1},
    "02_drive_patch_autoencoder.ipynb": {"patch_h": 11, "patch_w": 11, "batch_size": 64, "tile_stride": 5,
                                         "sample_in_fov": False, "data_source": "synthetic"},
    "02_drive_patch_autoencoder.ipynb#31": {"patch_h": 31, "patch_w": 31, "threshold": 0.3},
    "03_drive_segnet_unet.ipynb": {"batch_size": 4, "unet_base": 8, "lr": 3e-3, "data_source": "synthetic"},
    "03_drive_segnet_unet.ipynb#lecture": {"lecture_schedule": True},  # pixel values / 255, no flips
    "04_all_idb_cam_resnet18.ipynb": {"batch_size": 16, "augment": False, "cell_radius": 30,
                                      "train_layers": "layer4", "dev_share": 0.5},
    "04b_bccd_cam_real_smears.ipynb": {"target": "Platelets", "scale": 0.5, "side": 48, "negatives": 2,
                                       "thresholds": (0.4,)},
    "05_pca_autoencoders_segmentation.ipynb": {"k": 16, "batch_size": 128, "dropout": 0.3, "neighbours": 3,
                                               "sgd_lr": 0.05, "code_sizes": (8,),
                                               "data_source": "synthetic"},
    "05_pca_autoencoders_segmentation.ipynb#big": {"code_sizes": (16, 1024), "repeat_seeds": (),
                                                   "fashion_source": "synthetic", "few_labelled": 2,
                                                   "linear_fine_epochs": 0},
}
INVALID = {
    "00_setup_check.ipynb": [({"data_source": "internet"}, "data_source")],
    "01a_fashion_mnist_autoencoder_end_to_end.ipynb": [({"batch_size": 0}, "batch_size"),
                                                       ({"lr": -0.5}, "lr"), ({"clf_lr": 0}, "clf_lr"),
                                                       ({"n_val": 0}, "n_val"), ({"hidden": 0}, "hidden"),
                                                       ({"n_train": -5}, "n_train"),
                                                       ({"compare_lecture_batch": "no"}, "compare_lecture_batch"),
                                                       ({"checkpoint_every": -1}, "checkpoint_every")],
    "01b_fashion_mnist_layerwise_pretraining.ipynb": [({"num_epochs": 0}, "num_epochs"),
                                                      ({"data_source": "web"}, "data_source"),
                                                      ({"hidden": 0}, "hidden"), ({"n_val": 0}, "n_val"),
                                                      ({"compare_end_to_end": 1}, "compare_end_to_end")],
    "02_drive_patch_autoencoder.ipynb": [({"patch_h": 700}, "patch_h"), ({"patch_w": 0}, "patch_w"),
                                         ({"batch_size": 0}, "batch_size"), ({"threshold": 1.5}, "threshold"),
                                         ({"tile_stride": 0}, "tile_stride"), ({"head_epochs": 0}, "head_epochs"),
                                         ({"sample_in_fov": "yes"}, "sample_in_fov"),
                                         ({"num_val_images": 11}, "num_val_images"),
                                         ({"patch_h": 70, "patch_w": 70}, "patch_h · patch_w")],
    "03_drive_segnet_unet.ipynb": [({"batch_size": 0}, "batch_size"), ({"data_source": "kaggle"}, "data_source"),
                                   ({"unet_epochs": -1}, "unet_epochs"), ({"contrast_sigma": -1}, "contrast_sigma"),
                                   ({"test_flips": "yes"}, "test_flips"), ({"segnet_epochs": 0}, "segnet_epochs"),
                                   ({"num_crops": 0}, "num_crops"), ({"threshold": 1.5}, "threshold"),
                                   ({"crop_size": 100}, "crop_size")],  # refused before the smoke override
    "04_all_idb_cam_resnet18.ipynb": [({"lr": 0}, "lr"), ({"num_epochs": 0}, "num_epochs"),
                                      ({"train_layers": "conv"}, "train_layers"), ({"dev_share": 1.5}, "dev_share"),
                                      ({"momentum": 1.5}, "momentum"), ({"max_smears": -1}, "max_smears"),
                                      ({"input_size": 16}, "input_size"), ({"n_test": 150}, "n_test")],
    "04b_bccd_cam_real_smears.ipynb": [({"target": "RBCs"}, "target"), ({"scale": 0}, "scale"),
                                       ({"side": 200}, "side"), ({"thresholds": (1.5,)}, "thresholds"),
                                       ({"max_photos": -1}, "max_photos")],
    "05_pca_autoencoders_segmentation.ipynb": [({"k": 0}, "k"), ({"fashion_source": "web"}, "fashion_source"),
                                               ({"seg_batch_size": 0}, "seg_batch_size"),
                                               ({"neighbours": 0}, "neighbours"), ({"sgd_lr": 0}, "sgd_lr"),
                                               ({"code_sizes": ()}, "code_sizes"),
                                               ({"finetune_epochs": "ten"}, "finetune_epochs"),
                                               ({"pretrain_epochs": 0}, "pretrain_epochs"),
                                               ({"few_labelled": 30}, "few_labelled"), ({"dropout": 1.5}, "dropout"),
                                               ({"crop_size": 50}, "crop_size"),
                                               ({"project_schedule": "yes"}, "project_schedule")],
}


REAL_DATA = {  # the DRIVE notebooks with data_source = "real" (tests read ../shared/data/DRIVE in place)
    "02_drive_patch_autoencoder.ipynb": {"data_source": "real"},
    "03_drive_segnet_unet.ipynb": {"data_source": "real"},
    "05_pca_autoencoders_segmentation.ipynb": {"data_source": "real", "fashion_source": "synthetic"},
}


@pytest.fixture
def smoke_env(monkeypatch):
    monkeypatch.setenv("COURSE_SMOKE", "1")


@pytest.mark.parametrize("name,overrides", VALID.items(), ids=list(VALID))
def test_changed_values_run_cleanly(name, overrides):
    nb = run(name.split("#")[0], overrides)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


@pytest.mark.parametrize("name,overrides,word",
                         [(n, o, w) for n, cases in INVALID.items() for o, w in cases],
                         ids=[f"{n[:3]}-{next(iter(o))}" for n, cases in INVALID.items() for o, _ in cases])
def test_invalid_values_stop_in_setup_cell(name, overrides, word):
    error = error_of(name, overrides)
    assert error is not None, "an invalid value was accepted"
    ename, evalue = error
    assert ename == "ParameterError" and "Parameters cell" in evalue and word in evalue


@pytest.mark.parametrize("name", REAL_DATA)
def test_real_data_source_runs_cleanly(name, real_drive_root, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(real_drive_root))
    nb = run(name, REAL_DATA[name])
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    banner = next(o["text"] for o in outputs if o.get("output_type") == "stream")
    assert "drive: REAL data from" in banner and str(real_drive_root) in banner
