"""Facts about the course datasets, each stated once: folder names, file names, sizes, counts, classes, splits.

Loaders, layout checks, stand-ins and the importer all read them from here; this module reads no files.
"""
import re

DATASETS = {"fashion_mnist": "FashionMNIST", "drive": "DRIVE", "all_idb": "ALL_IDB", "bccd": "BCCD"}
SOURCES = ("auto", "real", "synthetic")  # a notebook's data_source
SYNTHETIC = "synthetic"  # sub-folder of the data root that holds the stand-ins
# Ceilings on what one import may unpack, checked against an archive's declared sizes before anything is written:
# a few times the official releases (Fashion-MNIST 55 MB unpacked, DRIVE 30 MB, BCCD 9 MB; ALL-IDB, not measured
# here, gets a generous 1 GiB), so a damaged or hostile archive cannot fill the disk.
IMPORT_LIMIT_BYTES = {"fashion_mnist": 128 << 20, "drive": 256 << 20, "all_idb": 1 << 30, "bccd": 128 << 20}

# ---------------------------------------------------------------- Fashion-MNIST (notebooks 01a, 01b, 05)
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
FASHION_SIDE = 28  # images are 28×28 grey levels
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # idx headers of the image and label files
FASHION_FILES = {"train-images-idx3-ubyte": (IMAGES_MAGIC, FASHION_SIDE ** 2),  # name: (magic, bytes per item)
                 "train-labels-idx1-ubyte": (LABELS_MAGIC, 1),
                 "t10k-images-idx3-ubyte": (IMAGES_MAGIC, FASHION_SIDE ** 2),
                 "t10k-labels-idx1-ubyte": (LABELS_MAGIC, 1)}
FASHION_COUNTS = {"train": 60000, "t10k": 10000}  # official release (balanced classes); the stand-in may hold fewer


def fashion_file(split, kind):
    """Name of one idx file: split "train" or "t10k", kind "images" or "labels"."""
    return f"{split}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"


# ---------------------------------------------------------------- DRIVE (notebooks 02, 03, 05)
DRIVE_SIZE = (565, 584)  # width, height (PIL order) of every image
DRIVE_NUMBERS = {"training": range(21, 41), "test": range(1, 21)}
DRIVE_MANUALS = {"training": ("vessels",), "test": ("vessels", "vessels2")}  # the release's label images
DRIVE_FOLDERS = ("training/images", "training/1st_manual", "training/mask", "test/images", "test/mask")
DRIVE_HELD_OUT = 13  # without test labels: the first 13 training images train, the other 7 evaluate


def drive_paths(folder, split, number):
    """Official paths of one DRIVE case ("01".."40"): image, fov (mask), vessels (1st manual), vessels2 (2nd)."""
    base = folder / split
    return {"image": base / "images" / f"{number}_{split}.tif",
            "fov": base / "mask" / f"{number}_{split}_mask.gif",
            "vessels": base / "1st_manual" / f"{number}_manual1.gif",
            "vessels2": base / "2nd_manual" / f"{number}_manual2.gif"}


def drive_held_out_numbers():
    """(training, evaluation) image numbers used when a copy lacks the test labels."""
    numbers = list(DRIVE_NUMBERS["training"])
    return numbers[:DRIVE_HELD_OUT], numbers[DRIVE_HELD_OUT:]


def number_range(numbers):
    """"21-33" for a run of consecutive image numbers (messages and notes)."""
    return f"{numbers[0]:02d}-{numbers[-1]:02d}"


def drive_held_out_evaluation():
    """What the notebooks evaluate on without test labels, in words (status report, importer)."""
    return f"notebooks evaluate on held-out training images {number_range(drive_held_out_numbers()[1])}"


# ---------------------------------------------------------------- ALL-IDB (notebook 04)
CELL_SIZE = (257, 257)  # ALL_IDB2 crops, width × height
SMEAR_SIZES = ((2592, 1944), (1712, 1368))  # ALL_IDB1 photographs of the two cameras
CELL_NAME = re.compile(r"Im(\d{3})_([01])\.tiff?", re.IGNORECASE)
SMEAR_NAME = re.compile(r"Im(\d{3})_([01])\.jpe?g", re.IGNORECASE)
ALL_IDB_COUNTS = {"cells": 260, "smears": 108}  # official release; the stand-in may hold fewer smears
ALL_IDB_BLAST_CELLS = 130  # Im001_1 .. Im130_1 are blasts, Im131_0 .. Im260_0 normal white cells
ALL_IDB_FOLDERS = {"cells": "ALL_IDB2/img", "smears": "ALL_IDB1/im", "centroids": "ALL_IDB1/xyc"}


def all_idb_stem(number, blast):
    """Official ALL-IDB file stem ImNNN_L, L = 1 for a blast (ALL), 0 for normal."""
    return f"Im{number:03d}_{int(blast)}"


# ---------------------------------------------------------------- BCCD (notebook 04, exercise 6)
BCCD_SIZE = (640, 480)  # width, height (PIL order)
BCCD_COUNT = 364  # photographs (and annotation files) of the release; the stand-in holds fewer
BCCD_NAME = re.compile(r"BloodImage_(\d{5})\.jpg")
BCCD_SPLITS = ("train", "val", "test")
BCCD_CLASSES = ("WBC", "RBC", "Platelets")
BCCD_FOLDERS = {"photos": "JPEGImages", "boxes": "Annotations", "lists": "ImageSets/Main"}


def bccd_stem(number):
    """Official BCCD file stem BloodImage_NNNNN."""
    return f"BloodImage_{number:05d}"
