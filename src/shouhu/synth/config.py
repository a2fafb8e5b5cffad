"""Configuration and summary of a synthetic book: everything that changes the bytes is here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

CHANNELS: tuple[str, ...] = ("agent", "bancassurance", "broker", "internet", "direct")
SOURCES: tuple[str, ...] = ("agent_crm", "bancassurance", "broker", "internet", "app")


@dataclass(frozen=True)
class SynthConfig:
    """Knobs of :func:`shouhu.synth.generate_book`. Same config (seed included) => same bytes.

    ``customers`` counts real people (households' members included). Persistency targets are the
    share of policies still paying at month 13 / 25; ``channel_persistency`` overrides them per
    channel as ``(("bancassurance", 0.85, 0.78), ...)``.
    """

    customers: int = 10_000
    seed: int = 42
    as_of: date = date(2026, 10, 31)
    years: int = 10
    bad_row_share: float = 0.01
    persistency_13m: float = 0.90
    persistency_25m: float = 0.85
    channel_persistency: tuple[tuple[str, float, float], ...] = ()
    wearable_share: float = 0.15
    legacy_id_share: float = 0.02
    multi_channel_boost: float = 1.0
    reinstatement_share: float = 0.2
    wearable_days: int = 90
    marketing_weeks: int = 104
    planted_returns: bool = True  # new business follows each channel's response to spend (synth/marketing.py)

    def persistency(self, channel: str) -> tuple[float, float]:
        """(13-month, 25-month) persistency target for a channel."""
        for name, p13, p25 in self.channel_persistency:
            if name == channel:
                return p13, p25
        return self.persistency_13m, self.persistency_25m

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("customers must be >= 1")
        for name, value in (
            ("bad_row_share", self.bad_row_share),
            ("wearable_share", self.wearable_share),
            ("legacy_id_share", self.legacy_id_share),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        for ch in (None, *(c[0] for c in self.channel_persistency)):
            p13, p25 = self.persistency(ch) if ch else (self.persistency_13m, self.persistency_25m)
            if not 0.0 < p25 <= p13 <= 1.0:
                raise ValueError(f"persistency must satisfy 0 < 25m <= 13m <= 1 (channel {ch or 'all'})")


@dataclass(frozen=True)
class ExtractInfo:
    path: str
    source: str
    entity: str
    format: str
    encoding: str | None
    rows: int
    bad_rows: int


@dataclass(frozen=True)
class BookSummary:
    """What was written: per-extract row counts plus headline figures of the book."""

    out_dir: str
    customers: int
    households: int
    party_records: int
    policies: int
    extracts: tuple[ExtractInfo, ...] = field(default=())
    timings: tuple[tuple[str, float], ...] = field(default=())

    @property
    def total_rows(self) -> int:
        return sum(e.rows for e in self.extracts)

    @property
    def bad_rows(self) -> int:
        return sum(e.bad_rows for e in self.extracts)
