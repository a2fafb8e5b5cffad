"""Cross-sell propensity: point-in-time features, labels, out-of-time training, the score table."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd

from shouhu.scoring import crosssell
from shouhu.storage.warehouse import Warehouse

AS_OF = date(2026, 10, 31)


def identified(loaded_book, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A loaded book with identity resolution run (``identity_cluster`` maps records to customers)."""
    from shouhu.identity.resolve import resolve_identities

    _, url = loaded_book(customers=600, seed=5)
    with Warehouse(url) as wh:
        resolve_identities(wh)
    return url


def test_labels_are_purchases_in_the_next_twelve_months_and_features_see_only_the_past(loaded_book,
                                                                                      tmp_path) -> None:
    url = identified(loaded_book, tmp_path)
    s = date(2024, 10, 31)
    with Warehouse(url) as wh:
        tables = crosssell.load_tables(wh)
        df = crosssell.to_frame(crosssell.features_at(tables, s))
        held = crosssell._held(tables).to_pyarrow().to_pandas()
        # the same snapshot with every policy issued after it removed: features must not change
        pol = tables["src_policy"]
        cut = {**tables, "src_policy": pol.filter(pol.issue_date <= s)}
        past = crosssell.to_frame(crosssell.features_at(cut, s, label=False))
    assert df.customer_id.is_unique and len(df) > 100
    feats = [c for c in past.columns if not c.startswith("bought_")]
    pd.testing.assert_frame_equal(df[feats], past[feats], check_dtype=False)
    issued = pd.to_datetime(held.issue_date)
    window = held[(issued > pd.Timestamp(s)) & (issued <= pd.Timestamp(s + timedelta(days=365)))]
    for t in crosssell.PRODUCT_TYPES:
        buyers = set(window[window.product_type == t].customer_id)
        assert set(df[df[f"bought_{t}"] == 1].customer_id) == buyers & set(df.customer_id)


def test_train_out_of_time_and_write_scores(loaded_book, tmp_path) -> None:
    url = identified(loaded_book, tmp_path)
    with Warehouse(url) as wh:
        info = crosssell.build_crosssell(wh, tmp_path / "models", AS_OF)
        out = wh.read(crosssell.TABLE).to_pandas()
        n = len(crosssell.to_frame(crosssell.features_at(crosssell.load_tables(wh), AS_OF, label=False)))
    trained = [t for t, r in info["trained"].items() if "model" in r]
    assert trained and set(out.product_type) == set(trained)
    for t in trained:
        from shouhu.scoring import registry

        art = registry.load(tmp_path / "models", crosssell.model_name(t))
        assert art.meta["validation"] == "out_of_time"
        assert all(f["train_until"] < f["test_from"] for f in art.meta["folds"])
        mine = out[out.product_type == t]
        assert len(mine) == n and mine.customer_id.is_unique
        assert mine.probability.between(0, 1).all() and set(mine.decile) <= set(range(1, 11))
    assert all(isinstance(json.loads(r), list) for r in out.reasons)
    assert "risk" not in " ".join(out.reasons)
