"""Per-customer data keys for crypto-shredding.

Data about one person that lives where rows cannot be edited (the append-only sales traceability ledger,
archived copies) is sealed with that person's own AES-256-GCM key. The key is stored wrapped (encrypted)
by the master field key (``privacy.crypto``) in ``subject_key``. When the person's data is due for
deletion, destroying the key (``destroy``) makes every sealed copy unreadable at once, wherever it is,
while hashes and Merkle proofs over the sealed text still verify.

Sealed text: ``s1:<base64(nonce + ciphertext)>``, the customer id as associated data (a value moved to
another customer does not open).
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection

from shouhu.errors import ShouhuError
from shouhu.privacy.crypto import FieldCipher
from shouhu.storage import dsr as store


class Shredded(ShouhuError):
    """The customer's data key was destroyed: what was sealed with it can no longer be read."""

    code = "shredded"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key(conn: Connection, cipher: FieldCipher, customer_id: str, create: bool) -> bytes:
    row = store.key_row(conn, customer_id)
    if row is None:
        if not create:
            raise Shredded(f"no data key for customer {customer_id}")
        key = AESGCM.generate_key(bit_length=256)
        wrapped = cipher.encrypt(base64.b64encode(key).decode())
        assert wrapped is not None
        store.add_key(conn, customer_id, wrapped, _now())
        return key
    if row["wrapped_key"] is None:
        raise Shredded(f"the data key of customer {customer_id} was destroyed on {row['destroyed_at']}")
    return base64.b64decode(cipher.decrypt(row["wrapped_key"]) or "")


def seal(conn: Connection, cipher: FieldCipher, customer_id: str, text: str) -> str:
    """``text`` encrypted with the customer's key (made on first use); Shredded once it was destroyed."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key(conn, cipher, customer_id, True)).encrypt(nonce, text.encode("utf-8"),
                                                                   customer_id.encode("utf-8"))
    return "s1:" + base64.b64encode(nonce + sealed).decode()


def unseal(conn: Connection, cipher: FieldCipher, customer_id: str, stored: str) -> str:
    """The text back; Shredded when the key was destroyed (or never existed)."""
    if not stored.startswith("s1:"):
        raise ValueError("not a sealed value")
    raw = base64.b64decode(stored[3:])
    return AESGCM(_key(conn, cipher, customer_id, False)).decrypt(raw[:12], raw[12:],
                                                                 customer_id.encode("utf-8")).decode("utf-8")


def destroy(conn: Connection, customer_id: str, reason: str) -> bool:
    """Destroy the customer's key (crypto-shredding); True when there was a live key."""
    return store.destroy_key(conn, customer_id, reason, _now())
