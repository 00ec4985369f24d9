"""The course datasets: facts (catalog), where they live (location), their layouts (layout), reading files
(reading), real or stand-in (sources), loaders, splits, integrity checks and the procedural stand-ins (standins).

Notebooks call what this page exports, e.g. `datasets.load_drive(cfg.source, cfg.root)`; nothing in this
subpackage trains, plots or imports the rest of course_utils.
"""
from .catalog import DATASETS, DRIVE_SIZE, FASHION_CLASSES, FASHION_COUNTS, SOURCES
from .integrity import dataset_status, verify_dataset
from .loaders import (
    BloodSmearData,
    CellData,
    DriveData,
    DriveImage,
    FashionMNISTData,
    SmearData,
    load_all_idb1,
    load_all_idb2,
    load_bccd,
    load_drive,
    load_fashion_mnist,
)
from .reading import DataError
from .sources import resolve_source
from .splits import (
    DriveSplit,
    FashionSplits,
    drive_validation_split,
    fashion_splits,
    stratified_split,
    validation_split,
)

__all__ = ["DATASETS", "DRIVE_SIZE", "FASHION_CLASSES", "FASHION_COUNTS", "SOURCES", "BloodSmearData", "CellData",
           "DataError", "DriveData", "DriveImage", "DriveSplit", "FashionMNISTData", "FashionSplits", "SmearData",
           "dataset_status", "drive_validation_split", "fashion_splits", "load_all_idb1", "load_all_idb2",
           "load_bccd", "load_drive", "load_fashion_mnist", "resolve_source", "stratified_split",
           "validation_split", "verify_dataset"]
