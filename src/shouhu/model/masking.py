"""Masking of personal data for display and logs (JR/T 0171-2020 habits).

phone 138****5678 · ID 110***********1234 · name 张* · anything else: first and last char kept.
Pure functions; the web layer's reveal permission is the only way around them.
"""

from __future__ import annotations


def mask_phone(value: str) -> str:
    digits = value.strip()
    if len(digits) < 8:  # 3 + 4 kept would show a 7-character value in full
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(value: str) -> str:
    v = value.strip()
    if len(v) < 14:  # keeping 3 + 4 of a short value would show most of it
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


def mask_name(value: str) -> str:
    v = value.strip()
    if not v:
        return v
    if len(v) == 1:
        return "*"
    return v[0] + "*" * (len(v) - 1)


def mask_generic(value: str) -> str:
    v = str(value)
    if len(v) <= 2:
        return "*" * len(v)
    return v[0] + "*" * (len(v) - 2) + v[-1]


def mask_landline(value: str) -> str:
    """010-****5678: area code and last four digits kept."""
    v = value.strip()
    area, sep, local = v.partition("-")
    if not sep or len(local) < 7:
        return mask_phone(v)
    return area + "-" + "*" * (len(local) - 4) + local[-4:]


MASKERS = {"landline": mask_landline, "phone": mask_phone, "id_number": mask_id_number, "name": mask_name}


def mask(field: str, value: object) -> str:
    """Mask ``value`` the way ``field`` should be shown; unknown sensitive fields get a generic mask."""
    if value is None:
        return ""
    return MASKERS.get(field, mask_generic)(str(value))
