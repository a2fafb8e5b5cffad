"""Health engagement and membership (issue 16): wearable daily aggregates → points → status tiers →
guaranteed rewards; value-based service levels; a fairness report. docs/health.md is the user guide.

Modules: ``config`` (programme.toml), ``wearables`` (readers), ``points`` (earning rules), ``ledger``
(the append-only points ledger), ``status`` (tiers and reward tables), ``membership`` (value tiers →
service levels), ``fairness``, ``service`` and ``run`` (operations on the serving database).
"""

from __future__ import annotations

from shouhu.health.config import Programme, load, shipped
from shouhu.health.errors import ConsentMissing, NotAMember, NotEnoughPoints

__all__ = ["ConsentMissing", "NotAMember", "NotEnoughPoints", "Programme", "load", "shipped"]
