"""Templates: placeholders, rendering and its formats, the checks before submission, previews."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shouhu.errors import InvalidInput
from shouhu.journeys.templates import ALLOWED_VARIABLES, check_template, preview, render, variables_of

SERVICE_SMS = "{{ customer_name }}您好，保费将于{{premium_due_date}}到期。"


def test_variables_in_order_of_first_appearance_each_once() -> None:
    text = "{{ policy_no }} {{customer_name}} {{  policy_no  }} {{ days_to_due }}"
    assert variables_of(text) == ["policy_no", "customer_name", "days_to_due"]
    assert variables_of("{{ Name }} {{ a.b }} {{ 1x }} { x }") == []
    assert variables_of("") == []


def test_render_fills_every_placeholder() -> None:
    assert render(SERVICE_SMS, {"customer_name": "张*", "premium_due_date": "2026-12-20", "extra": 1}) \
        == "张*您好，保费将于2026-12-20到期。"
    assert render("no placeholders", {}) == "no placeholders"


@pytest.mark.parametrize("values", [{"customer_name": "张*"}, {"customer_name": "张*", "premium_due_date": None}])
def test_render_names_the_missing_variable(values: dict[str, object]) -> None:
    with pytest.raises(InvalidInput, match="premium_due_date") as caught:
        render(SERVICE_SMS, values)
    assert caught.value.data == {"field": "premium_due_date"}


@pytest.mark.parametrize(("value", "text"), [
    (12345.0, "12,345.00"), (1234567.891, "1,234,567.89"), (999.999, "1,000.00"), (12.5, "12.50"),
    (Decimal("12345.125"), "12,345.13"), (Decimal("88"), "88.00"), (14, "14"), (12345, "12345"),
    (date(2026, 12, 20), "2026-12-20"), (datetime(2026, 12, 20, 9, 30, tzinfo=UTC), "2026-12-20T09:30+00:00"),
    ("P001", "P001"), (True, "True"),
])
def test_render_formats_numbers_and_dates(value: object, text: str) -> None:
    assert render("{{ v }}", {"v": value}) == text


def test_render_runs_nothing() -> None:
    values = {"customer_name": "{{ policy_no }}", "policy_no": "P1"}
    assert render("{{ customer_name }}", values) == "{{ policy_no }}"  # a value is not a template
    assert render("{{ customer_name.__class__ }}", values) == "{{ customer_name.__class__ }}"


def test_allowed_variables_have_labels_and_samples() -> None:
    assert set(ALLOWED_VARIABLES) == {
        "customer_name", "agent_name", "policy_no", "product_name", "premium_due_date", "premium_amount",
        "grace_end_date", "days_to_due", "birthday", "journey_name", "content_title", "content_url",
        "unsubscribe_hint"}
    for v in ALLOWED_VARIABLES.values():
        assert v.label_zh and v.label_en and v.sample
    assert ALLOWED_VARIABLES["customer_name"].sample == "张*"


def test_a_good_template_has_no_problems() -> None:
    assert check_template("sms", "service", "", SERVICE_SMS, "zh-CN") == []
    assert check_template("email", "marketing", "{{ content_title }}", "Read {{ content_url }}", "en") == []


def test_check_template_reports_each_problem() -> None:
    problems = check_template("email", "service", "{{ secret_field }}", "  ", "fr")
    assert len(problems) == 3
    assert "locale 'fr'" in problems[0] and "body is empty" in problems[1]
    assert "unknown variables: secret_field" in problems[2]
    (bad,) = check_template("sms", "service", "", "{{ customer.name }}您好 {{ Agent_Name }}", "zh-CN")
    assert "malformed" in bad and "{{ customer.name }}" in bad and "{{ Agent_Name }}" in bad


def test_sms_length_limit() -> None:
    assert check_template("sms", "service", "", "字" * 500, "zh-CN") == []
    (problem,) = check_template("sms", "service", "", "字" * 501, "zh-CN")
    assert "500" in problem and "501" in problem
    assert check_template("email", "service", "s", "字" * 5000, "zh-CN") == []


@pytest.mark.parametrize(("body", "ok"), [
    ("新品上线，欢迎了解。", False),
    ("新品上线，欢迎了解。{{ unsubscribe_hint }}", True),
    ("新品上线，欢迎了解。回复TD退订", True),
    ("New plan available. Reply STOP to opt out", True),
    ("New plan available. Reply stop to opt out", True),
    ("A nonstop offer", False),
])
def test_a_marketing_sms_must_tell_how_to_opt_out(body: str, ok: bool) -> None:
    problems = check_template("sms", "marketing", "", body, "zh-CN")
    assert (problems == []) is ok
    assert check_template("sms", "service", "", body, "zh-CN") == []  # service messages need no opt-out
    assert check_template("wecom", "marketing", "", body, "zh-CN") == []


def test_preview_uses_the_samples_of_the_locale() -> None:
    subject, body = preview("{{ product_name }}", "{{ customer_name }}，应缴{{ premium_amount }}元。"
                            "{{ unsubscribe_hint }}")
    assert subject == "守护终身重疾险" and body == "张*，应缴12,345.00元。回复TD退订"
    subject, body = preview("{{ journey_name }}", "Dear {{ customer_name }}, {{ unsubscribe_hint }}", "en")
    assert subject == "Before the premium is due" and body == "Dear 张*, Reply STOP to opt out"
    with pytest.raises(InvalidInput, match="nope"):
        preview("", "{{ nope }}")
    with pytest.raises(InvalidInput, match="locale"):
        preview("", "x", "fr")
