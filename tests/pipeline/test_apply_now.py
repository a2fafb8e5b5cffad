"""A steward's merge applied at once to the serving view (identity.stewardship.apply_now) puts the
records under the same customer id that the next refresh gives them, so nothing changes at refresh."""

from __future__ import annotations

from shouhu.identity import stewardship
from shouhu.pipeline.refresh import refresh
from shouhu.settings import Settings
from tests.pipeline.test_refresh import AS_OF, customer_of, refreshed, serving_rows

__all__ = ["refreshed"]  # the fixture, imported for this module


def test_merge_applied_now_matches_the_next_refresh(refreshed: Settings) -> None:
    s = refreshed
    singles = [r[0] for r in serving_rows(
        s, "SELECT c.customer_id FROM customer c JOIN identity_record r ON r.customer_id = c.customer_id "
           "WHERE c.id_number_bidx IS NULL GROUP BY c.customer_id HAVING COUNT(*) = 1 ORDER BY c.customer_id LIMIT 2")]
    assert len(singles) == 2
    a = serving_rows(s, f"SELECT unique_id FROM identity_record WHERE customer_id = '{singles[0]}'")[0][0]
    b = serving_rows(s, f"SELECT unique_id FROM identity_record WHERE customer_id = '{singles[1]}'")[0][0]
    stewardship.merge_customers(s.serving, singles[0], singles[1], actor="steward-wang", reason="same phone call")
    applied = stewardship.apply_now(s.serving, a, b)
    assert applied["applied"] and applied["moved"] == 1 and applied["customer_id"] in singles
    assert customer_of(s, a) == customer_of(s, b) == applied["customer_id"]  # before any refresh
    assert stewardship.apply_now(s.serving, a, b)["applied"] is False  # already one customer
    refresh(s, as_of=AS_OF)
    assert customer_of(s, a) == customer_of(s, b) == applied["customer_id"]
