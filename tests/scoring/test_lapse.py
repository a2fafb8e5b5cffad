from datetime import date, datetime, timedelta

import ibis
import pandas as pd
import pandas.testing as pdt

from shouhu.scoring import lapse, persistency
from shouhu.storage.warehouse import Warehouse


def _truncated(tables, s):
    """The warehouse as it looked on day ``s``: later rows gone, later payments unpaid, current status unknown."""
    pol, pay, ev = tables["src_policy"], tables["src_premium_payment"], tables["src_policy_status_event"]
    late = pay.paid_date > ibis.date(s)
    tp, staff = tables["src_touchpoint"], tables["src_staff"]
    return {
        **tables,
        "src_policy": pol.filter(pol.issue_date <= s).mutate(status=ibis.literal("in_force"),
                                                               status_date=ibis.null("date")),
        "src_premium_payment": pay.filter(pay.due_date <= s).mutate(
            paid_date=ibis.ifelse(late, ibis.null("date"), pay.paid_date),
            amount_paid=ibis.ifelse(late, ibis.null("float64"), pay.amount_paid)),
        "src_policy_status_event": ev.filter(ev.effective_date <= s),
        "src_touchpoint": tp.filter(tp.occurred_at < datetime.combine(s + timedelta(days=1), datetime.min.time())),
        "src_staff": staff.filter(staff.hire_date <= s),
    }


def test_no_feature_uses_data_after_its_snapshot(loaded_book):
    _, url = loaded_book(customers=800, seed=5)
    with Warehouse(url) as wh:
        tables = lapse.load_tables(wh)
        s = date(2025, 10, 31)
        full = lapse.to_frame(lapse.features_at(tables, s, label=False))
        past = lapse.to_frame(lapse.features_at(_truncated(tables, s), s, label=False))
        assert len(full) > 100
        pdt.assert_frame_equal(full.reset_index(drop=True), past.reset_index(drop=True), check_dtype=False)


def test_label_looks_only_at_the_next_twelve_months(loaded_book):
    _, url = loaded_book(customers=800, seed=5)
    with Warehouse(url) as wh:
        tables = lapse.load_tables(wh)
        s = date(2024, 10, 31)
        df = lapse.to_frame(lapse.features_at(tables, s))
        ev = tables["src_policy_status_event"].to_pandas()
        lapses = ev[(ev.status == "lapsed") & (pd.to_datetime(ev.effective_date) > pd.Timestamp(s))
                    & (pd.to_datetime(ev.effective_date) <= pd.Timestamp(s + timedelta(days=365)))]
        expected = df.policy_no.isin(set(lapses.policy_no)).astype(int)
        assert (df[lapse.LABEL] == expected).all() and df[lapse.LABEL].sum() > 0


def test_train_out_of_time_and_write_lapse_score(loaded_book, tmp_path):
    _, url = loaded_book(customers=800, seed=5)
    with Warehouse(url) as wh:
        tables = lapse.load_tables(wh)
        art = lapse.train_lapse(tables, tmp_path, rounds=30)
        horizon = persistency.default_as_of(tables)
        [fold] = art.meta["folds"]
        assert art.meta["validation"] == "out_of_time"
        assert fold["train_until"].startswith(str(horizon.year - 2))
        assert fold["test_from"].startswith(str(horizon.year - 1))
        result = lapse.score_warehouse(wh, tmp_path)
        scores = wh.read(lapse.SCORE_TABLE).to_pandas()
    assert result["rows"] == len(scores) > 0
    assert scores.probability.between(0, 1).all() and set(scores.decile) <= set(range(1, 11))
    top = scores.probability.max()  # the highest-risk policies are in decile 1 (ties share the top rank)
    assert scores.loc[scores.probability == top, "decile"].min() == 1
    assert scores.loc[scores.probability == scores.probability.min(), "decile"].max() == 10
    assert scores.reasons.str.startswith("[").all()
    # the model's evaluation report, from a generated book: Markdown with its charts
    from shouhu.scoring.report import write_report

    report = write_report(art, tmp_path / "report")
    text = report.read_text(encoding="utf-8")
    assert "AUC" in text and "lift" in text
    assert len(list((tmp_path / "report").glob("*.png"))) >= 3
