"""Errors of the health programme: part of the one family (``ShouhuError``), each with a stable code."""

from __future__ import annotations

from shouhu.errors import InvalidInput, ShouhuError


class ConsentMissing(ShouhuError, PermissionError):
    """The customer has not granted the ``health_data`` purpose (or has withdrawn it)."""

    code = "consent_missing"


class NotEnoughPoints(InvalidInput):
    code = "not_enough_points"


class NotAMember(InvalidInput):
    code = "not_a_member"


__all__ = ["ConsentMissing", "NotAMember", "NotEnoughPoints"]
