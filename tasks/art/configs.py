"""ART's named run configurations: data parameters and the Trainer's settings.

`paper` (and `generator`, which changes nothing for ART) reproduces the
paper; `demo` is what `make demo --task art` runs: at most 25 epochs. Data
parameters are ArtDataset's fields; both at the paper's size: with a tenth
of ART, both models overfit before the contextual one pulls ahead.
"""

from __future__ import annotations

from typing import Any, Dict

PAPER = {
    "model": {"cell": "fast_weights", "units": 50, "strategy": "learned", "context_units": []},
    "epochs": 200,
    "batch_size": 128,
    "learning_rate": 1e-3,
    "stop_at_accuracy": 1.0,
}
# The demo trains at most 25 of the paper's 200 epochs, with the fast-weight
# update of the paper's code (the new preliminary state, not the previous
# one): on a 15-epoch run (seed 0) it took the learned start from the ~0.38
# plateau to 0.978 eval accuracy and the zero start to 0.938, where Ba et
# al.'s update left both on the plateau (benchmarks/art_quality.py --paper-
# code). With the paper's ReLU head too and the learning rate falling over the
# last 10 epochs, on ART data of another seed (art_quality.py --demo-budget, 3
# training seeds), the contextual model ended at 99.72% or more on every seed,
# where the demo's previous recipe ended at 99.36% or more there and at 97.79%
# on the demo's own data on one machine. The baseline gains the most from the
# head: it ended ahead on all 3 seeds.
DEMO = {
    **PAPER,
    "model": {
        **PAPER["model"],
        "cell_options": {"update_with_preliminary": True},
        "head_units": 100,
    },
    "epochs": 25,
    "decay_epochs": 10,
}

DATA: Dict[str, Dict[str, Any]] = {"paper": {}, "generator": {}, "demo": {}}
TRAINING: Dict[str, Dict[str, Any]] = {"paper": PAPER, "generator": PAPER, "demo": DEMO}
