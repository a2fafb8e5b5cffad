"""Scores: persistency KPIs, sBG retention curves, generic model training, registry, drift, lapse risk.

Modules load heavy libraries (LightGBM, scikit-learn, matplotlib) only when imported; import the
one you need, e.g. ``from shouhu.scoring import persistency``.
"""

__all__ = ["apply", "cohorts", "drift", "frame", "lapse", "metrics", "persistency", "registry", "report",
           "retention", "train"]
