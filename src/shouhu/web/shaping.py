"""Shape stored customer rows for a principal: decrypt what it may see in clear, mask the rest,
drop what it may not see, never pass ciphertext or blind indexes out."""

from __future__ import annotations

from typing import Any

from shouhu.access.policy import SENSITIVE_FIELDS, FieldView, Principal, field_view
from shouhu.model.masking import mask
from shouhu.privacy.crypto import FieldCipher

HIDDEN_VALUE = "••••"


def shape(principal: Principal, row: dict[str, Any], cipher: FieldCipher) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if not k.endswith(("_enc", "_bidx", "_masked"))}
    revealable = []
    for name in SENSITIVE_FIELDS:
        present = f"{name}_enc" in row or f"{name}_masked" in row
        if not present:
            continue
        view = field_view(principal, name)
        if view is FieldView.HIDDEN:
            out.pop(name, None)
            continue
        if view is FieldView.CLEAR:
            out[name] = cipher.decrypt(row.get(f"{name}_enc"))
            continue
        masked = row.get(f"{name}_masked")
        if masked is None and row.get(f"{name}_enc") is not None:
            masked = HIDDEN_VALUE
        out[name] = masked
        if view is FieldView.MASKED and row.get(f"{name}_enc") is not None:
            revealable.append(name)
    out["revealable"] = revealable
    return out


def reveal_values(row: dict[str, Any], fields: list[str], cipher: FieldCipher) -> dict[str, Any]:
    return {f: cipher.decrypt(row.get(f"{f}_enc")) for f in fields}


def mask_text(field: str, value: Any) -> str:
    return mask(field, value)
