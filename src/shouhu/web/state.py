"""What one running application shares: settings, one serving engine, the field cipher, caches."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Engine

from shouhu.access.policy import Principal
from shouhu.identity.search import SearchTokens
from shouhu.privacy.crypto import FieldCipher
from shouhu.settings import Settings

log = logging.getLogger("shouhu.web")

OtpSender = Callable[[str, str], None]  # (phone, code) -> None; never logs the phone in clear


def log_sender(phone: str, code: str) -> None:
    """Demo/development sender: writes the code to the server log (the phone masked)."""
    from shouhu.model.masking import mask_phone

    log.warning("one-time code for %s: %s (demo sender: configure a real SMS sender in production)",
                mask_phone(phone), code)


@dataclass
class TokenCache:
    """Bearer token -> principal for a few seconds, so that an API call costs no token lookup.
    Revocation and user changes made through this application clear it at once."""

    ttl_s: float = 30.0
    items: dict[str, tuple[float, Principal]] = field(default_factory=dict)

    def get(self, key: str) -> Principal | None:
        hit = self.items.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: str, principal: Principal) -> None:
        if len(self.items) > 10_000:
            self.items.clear()
        self.items[key] = (time.monotonic() + self.ttl_s, principal)

    def clear(self) -> None:
        self.items.clear()


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    cipher: FieldCipher
    otp_sender: OtpSender = log_sender
    tokens: TokenCache = field(default_factory=TokenCache)
    login_fail_limit: int = 5          # per user (or phone) per window
    client_fail_limit: int = 20        # per client address per window
    fail_window_s: float = 900.0
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def search_tokens(self) -> SearchTokens:
        """Keys the partial-search tokens (identity.search) as the publication did."""
        return SearchTokens.of(self.cipher)

    @property
    def demo(self) -> bool:
        return self.settings.mode == "demo"
