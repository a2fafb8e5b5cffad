"""A small tabular set where logistic regression is the true model (≈6k rows, 85 features, ~6% positives).

Ten features carry the signal linearly, 75 are noise: the shape of the public insurance benchmarks on
which a default-sized booster overfits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def small_logistic(rows: int = 6000, features: int = 85, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    beta = np.zeros(features)
    beta[:10] = rng.normal(0.0, 0.7, 10)
    p = 1.0 / (1.0 + np.exp(-(x @ beta - 4.6)))
    df = pd.DataFrame(x, columns=[f"f{i:02d}" for i in range(features)])
    df["region"] = rng.choice(["north", "south", "east"], rows)  # a category the baseline one-hot encodes
    df["target"] = (rng.random(rows) < p).astype(int)
    return df
