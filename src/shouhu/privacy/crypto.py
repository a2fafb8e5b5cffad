"""Encryption of sensitive fields at rest (AES-256-GCM) and blind indexes (HMAC-SHA256).

Each value is encrypted with a random 96-bit nonce; the stored text is
``v1:<key id>:<base64(nonce + ciphertext)>`` so that keys can be rotated: new writes use the
current key, reads try the key the value names. A blind index is a keyed hash of the
normalised value, so that "find the customer with this phone" works without decrypting.
The key comes from ``SHOUHU_ENCRYPTION_KEY`` (base64 of 32 bytes; several keys separated by
commas, the first is current). Outside production, a development key is created in the data
directory when none is set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shouhu.errors import ConfigError, ShouhuError
from shouhu.filemodes import private_dir, private_file
from shouhu.settings import Settings

DEV_KEY_FILE = "dev-encryption.key"


class DecryptionError(ShouhuError, ValueError):
    code = "decryption_error"


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"shouhu-key-id" + key).hexdigest()[:8]


@dataclass(frozen=True)
class FieldCipher:
    keys: tuple[bytes, ...]  # the first one encrypts; all of them decrypt

    def __post_init__(self) -> None:
        if not self.keys or any(len(k) != 32 for k in self.keys):
            raise ConfigError("encryption keys must be 32 bytes (base64 of 32 random bytes)")

    @classmethod
    def from_text(cls, text: str) -> FieldCipher:
        try:
            return cls(tuple(base64.b64decode(part.strip(), validate=True) for part in text.split(",") if part.strip()))
        except ValueError as e:
            raise ConfigError(f"SHOUHU_ENCRYPTION_KEY is not base64: {e}") from e

    @staticmethod
    def new_key_text() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    def encrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[0]).encrypt(nonce, value.encode("utf-8"), None)
        return f"v1:{_key_id(self.keys[0])}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str | None) -> str | None:
        if stored is None:
            return None
        try:
            version, key_id, payload = stored.split(":", 2)
            raw = base64.b64decode(payload)
        except ValueError:
            raise DecryptionError("not an encrypted value") from None
        for key in self.keys:
            if version == "v1" and _key_id(key) == key_id:
                try:
                    return AESGCM(key).decrypt(raw[:12], raw[12:], None).decode("utf-8")
                except Exception:
                    raise DecryptionError("value was tampered with or the key is wrong") from None
        raise DecryptionError(f"no key with id {key_id}; was a key removed from SHOUHU_ENCRYPTION_KEY?")

    def blind_index(self, value: str | None) -> str | None:
        """A keyed hash for exact-match search. Derived from the oldest key (last in the list), so
        that rotating in a new key does not change existing indexes."""
        if value is None:
            return None
        index_key = hmac.new(self.keys[-1], b"shouhu-blind-index", hashlib.sha256).digest()
        return hmac.new(index_key, value.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()


def cipher_from_settings(settings: Settings) -> FieldCipher:
    if settings.encryption_key:
        return FieldCipher.from_text(settings.encryption_key)
    if settings.mode == "production":  # Settings refuses this already; belt and braces
        raise ConfigError("SHOUHU_ENCRYPTION_KEY is required in production")
    path = Path(settings.data_dir) / DEV_KEY_FILE
    if not path.exists():
        private_dir(path.parent)
        try:  # created 0600 from the start: the key is never readable by others, not even briefly
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:  # another process made it meanwhile: use theirs
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(FieldCipher.new_key_text() + "\n")
    private_file(path)  # a key file of an older version may be 0644
    return FieldCipher.from_text(path.read_text(encoding="ascii"))
