"""The points ledger, as pure functions over one member's entries (append-only: nothing is ever updated).

* **Lots** are the entries that add points: ``earn`` (an activity) and ``carry`` (the share carried into
  a new programme year). Each has an ``expires_on`` day: it can be spent on the days before it.
* **Draws** take points from one lot and name it in ``lot``: ``redeem`` (spent on a voucher),
  ``expire`` (the lot's remainder on its expiry day) and ``reset`` (the remainder at the year's end).
* The balance is the sum of all entries; it equals the sum of the lots' remainders and is never negative.
* A redemption takes the soonest-expiring lots first (ties: earliest earned, then key), so points are
  never lost to expiry while older ones sit unspent.
* The annual reset closes every lot still open at the start of a programme year and opens one ``carry``
  lot of ``floor(unspent × carry_share)``; carried points are spendable but are not status points.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from shouhu.health.errors import NotEnoughPoints

LOT_KINDS = ("earn", "carry")
DRAW_KINDS = ("redeem", "expire", "reset")


@dataclass(frozen=True)
class Entry:
    key: str                      # unique: the idempotency key of whatever wrote it
    customer_id: str
    kind: str                     # earn | carry | redeem | expire | reset
    category: str                 # steps, health_check, ... for earn; carry; voucher; expiry; reset
    points: int                   # positive for lots, negative for draws
    day: date
    programme_year: int
    expires_on: date | None = None
    lot: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Lot:
    entry: Entry
    remaining: int


def balance(entries: Iterable[Entry]) -> int:
    return sum(e.points for e in entries)


def lots(entries: Sequence[Entry]) -> list[Lot]:
    """Every lot with what is left of it, soonest-expiring first."""
    drawn: dict[str, int] = {}
    for e in entries:
        if e.kind in DRAW_KINDS and e.lot is not None:
            drawn[e.lot] = drawn.get(e.lot, 0) + e.points
    found = [Lot(e, e.points + drawn.get(e.key, 0)) for e in entries if e.kind in LOT_KINDS]
    return sorted(found, key=lambda lot: (lot.entry.expires_on or date.max, lot.entry.day, lot.entry.key))


def spendable(entries: Sequence[Entry], on: date) -> list[Lot]:
    """Lots with points left that have not expired on ``on``, in the order a redemption draws them."""
    return [lot for lot in lots(entries) if lot.remaining > 0 and (lot.entry.expires_on or date.max) > on]


def available(entries: Sequence[Entry], on: date) -> int:
    return sum(lot.remaining for lot in spendable(entries, on))


def _draw(lot: Lot, kind: str, category: str, points: int, on: date, year: int, key: str,
          note: str | None = None) -> Entry:
    return Entry(key, lot.entry.customer_id, kind, category, -points, on, year, lot=lot.entry.key, note=note)


def redeem(entries: Sequence[Entry], points: int, on: date, ref: str, year: int,
           note: str | None = None) -> list[Entry]:
    """Draws for spending ``points`` on ``on``, soonest-expiring lots first; refused when too few are spendable."""
    if points <= 0:
        raise NotEnoughPoints(f"points: a redemption takes a positive number of points, not {points}", field="points")
    have = available(entries, on)
    if have < points:
        raise NotEnoughPoints(f"points: {points} wanted but {have} spendable on {on.isoformat()}", field="points",
                              wanted=points, available=have)
    out: list[Entry] = []
    left = points
    for lot in spendable(entries, on):
        take = min(left, lot.remaining)
        out.append(_draw(lot, "redeem", "voucher", take, on, year, f"redeem:{ref}:{len(out) + 1}", note))
        left -= take
        if left == 0:
            break
    return out


def expire(entries: Sequence[Entry], on: date, year: int) -> list[Entry]:
    """Draws closing the remainder of every lot whose expiry day is ``on`` or earlier."""
    return [_draw(lot, "expire", "expiry", lot.remaining, on, year, f"expire:{lot.entry.key}")
            for lot in lots(entries)
            if lot.remaining > 0 and lot.entry.expires_on is not None and lot.entry.expires_on <= on]


def annual_reset(entries: Sequence[Entry], year_start: date, year: int, carry_share: float,
                 expiry_days: int) -> list[Entry]:
    """At the start of programme ``year``: close every open lot earned before it, carry a share of the total.

    Lots that expire on or before ``year_start`` should be expired first (:func:`expire`); they are not
    carried. The carry lot is ``floor(unspent × carry_share)``, exact (the share is read as a decimal)."""
    open_lots = [lot for lot in spendable(entries, year_start) if lot.entry.day < year_start]
    return reset_lots(open_lots, year_start, year, carry_share, expiry_days)


def reset_lots(open_lots: Sequence[Lot], year_start: date, year: int, carry_share: float,
               expiry_days: int) -> list[Entry]:
    """The reset draws and the carry lot for one member's ``open_lots`` (see :func:`annual_reset`)."""
    if not open_lots:
        return []
    customer = open_lots[0].entry.customer_id
    out = [_draw(lot, "reset", "reset", lot.remaining, year_start, year - 1, f"reset:{year}:{lot.entry.key}")
           for lot in open_lots]
    unspent = sum(lot.remaining for lot in open_lots)
    carried = int(Fraction(str(carry_share)) * unspent)
    if carried > 0:
        out.append(Entry(f"carry:{customer}:{year}", customer, "carry", "carry", carried, year_start, year,
                         expires_on=year_start + timedelta(days=expiry_days),
                         note=f"{carry_share:.0%} of {unspent} unspent points"))
    return out


def status_points(entries: Iterable[Entry], year: int) -> int:
    """Points earned by activities in the programme year: redemptions do not lower them, carry does not add."""
    return sum(e.points for e in entries if e.kind == "earn" and e.programme_year == year)


__all__ = ["DRAW_KINDS", "LOT_KINDS", "Entry", "Lot", "annual_reset", "available", "balance", "expire", "lots",
           "redeem", "reset_lots", "spendable", "status_points"]
