"""Small data factories for the scoring tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_frame(n: int = 1200, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """A table with a learnable binary target, a string feature, an id and a month column."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "row_id": np.arange(n),
        "days_overdue": rng.integers(0, 90, n) + shift,
        "premium": rng.lognormal(8, 1, n),
        "channel": rng.choice(["agent", "bank", "web"], n),
        "month": rng.integers(1, 7, n),
    })
    logit = -2.5 + 0.04 * df["days_overdue"] + (df["channel"] == "web") * 0.8
    df["lapsed"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df
