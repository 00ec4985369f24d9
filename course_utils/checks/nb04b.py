"""Self-checks of notebook 04b's exercise (CAM on real BCCD photographs)."""
from . import report


def exercise_1(cfg, radius, scores):
    """Exercise 1 (platelets): the run targets platelets, shrinks the photographs so that a platelet keeps enough
    pixels, and scored the pointing game for that target (04b, exercise)."""
    platelet_px = 2 * radius * cfg.scale  # a platelet's width in shrunk pixels (the hit radius is half a box side)
    return report("04b exercise 1 (platelets)", [
        (cfg.target == "Platelets", "the parameters cell targets platelets",
         "set the target parameter to the name BCCD's boxes use for platelets, then run the notebook again"),
        (cfg.target == "Platelets" and platelet_px >= 12, "a platelet keeps at least 12 shrunk pixels across",
         "at this scale a platelet is only a few pixels wide: shrink the photographs less (a larger scale)"),
        (cfg.target == "Platelets" and cfg.side <= 64, "the crops are small enough to hold one small cell",
         "a crop much larger than a platelet is mostly red cells: use a smaller crop side"),
        ("CAM (layer4)" in scores and "image centre" in scores, "the pointing game was played with its baselines",
         "run section 5 after the training, so that the scores exist"),
    ])
