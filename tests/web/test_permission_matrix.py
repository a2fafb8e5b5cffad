"""The permission matrix: every route of the application, every role, anonymous callers and an H5
customer session, against objects inside and outside each role's scope.

For each route (``ROUTES`` holds a sample request per route; a route missing from it fails
:func:`test_every_route_is_in_the_matrix`, so new endpoints cannot escape):

* anonymous: 401 (API) or a redirect to the sign-in page (console, H5);
* an H5 customer session on a staff route: the same as anonymous;
* a role lacking the route's action (read from its ``require(Action.X)`` dependency): 403 (API) or
  the 403 page (console); staff on an H5 route: the H5 sign-in page;
* a role with the action, given the foreign customer of its scope (``web.foreign``): 403 or 404 and
  nothing of that customer (search and export routes: an empty answer instead);
* a role with the action, given its own customer: success (proves the sample request is valid,
  so the denials above are not accidents of a bad request);
* every answer: no customer id outside the caller's scope (links in pages included) and no clear
  phone or ID number (except the reveal routes, whose purpose it is); nor in the audit entries
  or the server log written meanwhile.

One application per backend serves the whole module (``shared_web``); the matrix takes a few
seconds per backend.
"""

from __future__ import annotations

import json
import re
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, insert, select

from shouhu.access.policy import row_rule
from shouhu.access.roles import ACTIONS, Action, Role
from shouhu.journeys import engine as jeng
from shouhu.journeys import messaging
from shouhu.partners import ecosystem as eco
from shouhu.partners import registry
from shouhu.privacy.crypto import FieldCipher
from shouhu.storage import accounts, audit, wallet
from shouhu.storage import activities as activity_store
from shouhu.storage import cases as case_store
from shouhu.storage import partners as partner_store
from shouhu.storage import proposals as proposal_store
from shouhu.storage.customers import scope_condition
from shouhu.storage.tables import audit_log, premium_due, reflected
from shouhu.web import auth
from shouhu.web.auth import H5_COOKIE, SESSION_COOKIE, principal_from_user
from tests.conftest import KEY, Published
from tests.web import trace_matrix
from tests.web.conftest import ROLES, Web
from tests.web.shared_web import BACKENDS, module_web

CUSTOMER_ID = re.compile(r"CU[0-9a-f]{12}")
# storage.audit's patterns for a mainland ID number and mobile number; a hit inside a longer
# alphanumeric token (a hash, a session token) is not a number anyone typed, so it is ignored.
PII = (audit._ID, audit._PHONE)
RISK = {"age_band": "31_45", "income_stability": "stable", "investable_share": "25_50", "experience": "funds",
        "horizon": "5_10y", "goal": "balanced", "max_loss": "15pct", "reaction": "hold", "liquidity_need": "maybe"}


@dataclass(frozen=True)
class Sample:
    """A request to send to one route. Strings may hold placeholders, filled per probe:
    ``{customer}`` (own or foreign customer id), ``{household}`` (its household), ``{record}``
    (one of its identity records), ``{other}`` (a second customer in scope), ``{user}`` (a user id),
    ``{me}`` (the caller's user id), ``{task}`` (a fresh task about the customer, see ``task``),
    ``{case}`` (a fresh claim-help case of the customer with a checklist and an encrypted field, see ``case``).
    Path parameters are filled from ``PATH_PARAMS`` (or ``path``)."""

    params: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    form: dict[str, Any] | None = None
    path: dict[str, str] = field(default_factory=dict)
    control: str = "all"        # all | one | none: which allowed roles run it on their own customer
    reveals: bool = False       # answers clear values by design (the reveal routes)
    search: bool = False        # a foreign customer gives an empty answer rather than 403/404
    public: bool = False        # no sign-in needed
    send_public: bool = True    # public routes: send an anonymous request (not for sign-in forms)
    ok: tuple[int, ...] = ()    # statuses the own-customer request may give (default: below 400)
    task: str = "open"          # {task}: a fresh task of the customer is made per request, in this status
    case: str = "open"          # {case}: a fresh service case of the customer per request, in this status


PATH_PARAMS = {"customer_id": "{customer}", "household_id": "{household}", "user_id": "{user}",
               "decision_id": "1", "questionnaire": "risk_tolerance", "row_id": "{wallet}",
               "task_id": "{task}", "case_id": "{case}", "policy_no": "{policy}",
               "proposal_id": "{proposal}", "journey_key": "matrix_journey",
               "code": "matrix_sms", "version": "1", "session_id": trace_matrix.SESSION,
               "partner_id": "matrix-partner"}
MATRIX_KEYS = ("matrixRotate", "matrixRevoke")
BOUND = ("customer", "customer_id", "household", "household_id", "record", "other", "wallet", "row_id", "task",
         "task_id", "case", "case_id", "policy", "policy_no", "proposal",
         "proposal_id")
PATH_PARAMS["eco_order_id"] = "{eco_order}"  # a fresh ecosystem service order of the customer per request
BOUND += ("eco_order", "eco_order_id")

RULE = "age >= 18"
MATRIX_JOURNEY = ("key: matrix_journey\nname: 权限矩阵\nentry: {event: birthday}\nstart: done\n"
                  "nodes:\n  done: {type: end}\n")
SOON = (date.today() + timedelta(days=30)).isoformat()
TODAY = date.today().isoformat()
S = Sample
ROUTES: dict[str, Sample] = {
    # --- application and documents ---
    "GET /": S(public=True),
    "GET /healthz": S(public=True),
    "GET /metrics": S(public=True),  # loopback only, or SHOUHU_METRICS_TOKEN
    "GET /favicon.ico": S(public=True),
    "GET /api/v1/openapi.json": S(public=True),
    "GET /api/v1/docs": S(public=True),
    "POST /api/v1/partner/webhooks": S(public=True),  # partner key or link token
    "GET /api/v1/partner/webhooks": S(public=True),  # partner key or link token
    "POST /api/v1/partner/webhooks/{endpoint_id}/{action}": S(public=True),  # partner key or link token
    "GET /api/v1/partner/webhooks/deliveries": S(public=True),  # partner key or link token
    "POST /api/v1/partner/webhook-replays/{target_id}": S(public=True),  # partner key or link token
    "GET /hosted/{token}": S(public=True),  # partner key or link token
    "POST /hosted/{token}": S(public=True),  # partner key or link token
    "POST /api/v1/partner/hosted-links": S(public=True),  # partner key or link token
    "POST /api/v1/partner/quotes": S(public=True),  # partner key or link token
    "POST /api/v1/partner/policies": S(public=True),  # partner key or link token
    "GET /api/v1/partner/policies/{policy_no}": S(public=True),  # partner key or link token
    "GET /api/v1/partner/orders/{partner_order_no}": S(public=True),  # partner key or link token
    "POST /api/v1/partner/policies/{policy_no}/changes": S(public=True),  # partner key or link token
    "POST /api/v1/partner/changes/{change_id}/confirm": S(public=True),  # partner key or link token
    "POST /api/v1/partner/claims": S(public=True),  # partner key or link token
    "POST /api/v1/partner/triggers": S(public=True),  # partner key or link token
    "GET /api/v1/partner/disclosures/{code}/{version}": S(public=True),  # partner key or link token
    "POST /api/v1/partner/trace/sessions": S(public=True),  # partner key or link token
    "POST /api/v1/partner/trace/sessions/{session_id}/events": S(public=True),  # partner key or link token
    "POST /api/v1/partner/conformance-reports": S(public=True),  # partner key or link token
    "GET /api/v1/partner/conformance-reports/latest": S(public=True),  # partner key or link token
    # --- API: auth ---
    "POST /api/v1/auth/token": S(public=True, send_public=False),
    "GET /api/v1/me": S(),
    # --- API: customers ---
    "GET /api/v1/customers": S(params={"q": "{customer}"}, search=True),
    "GET /api/v1/customers/{customer_id}": S(),
    "GET /api/v1/customers/{customer_id}/360": S(),
    "GET /api/v1/customers/{customer_id}/household": S(),
    "GET /api/v1/customers/{customer_id}/provenance": S(),
    "POST /api/v1/customers/{customer_id}/reveal": S(json={"fields": ["phone"], "reason": "权限矩阵"}, reveals=True),
    "POST /api/v1/customers/export": S(json={"customer_ids": ["{customer}"], "purpose": "权限矩阵"}, search=True),
    "GET /api/v1/dashboard": S(),
    "GET /api/v1/tasks": S(),
    # --- API: advice ---
    "GET /api/v1/questionnaires/{questionnaire}": S(),
    "POST /api/v1/customers/{customer_id}/assessments": S(json={"questionnaire": "risk_tolerance", "answers": RISK},
                                                          control="one"),
    "GET /api/v1/customers/{customer_id}/assessments": S(),
    "GET /api/v1/customers/{customer_id}/diagnosis": S(control="one"),
    "GET /api/v1/customers/{customer_id}/plan": S(control="one"),
    "GET /api/v1/customers/{customer_id}/review.pdf": S(control="one"),
    # --- API: audit and consent ---
    "GET /api/v1/audit": S(),
    "GET /api/v1/audit/verify": S(),
    "GET /api/v1/consent": S(),
    # --- API: identity ---
    "GET /api/v1/identity/queue": S(),
    "GET /api/v1/identity/decisions": S(),
    "GET /api/v1/identity/customers/{customer_id}": S(),
    "POST /api/v1/identity/confirm": S(json={"left": "{record}", "right": "{record}", "reason": "权限矩阵"},
                                       control="none"),
    "POST /api/v1/identity/reject": S(json={"left": "{record}", "right": "{record}", "reason": "权限矩阵"},
                                      control="none"),
    "POST /api/v1/identity/merge": S(json={"customer_a": "{customer}", "customer_b": "{other}", "reason": "权限矩阵"},
                                     control="none"),
    "POST /api/v1/identity/split": S(json={"unique_id": "{record}", "reason": "权限矩阵"}, control="none"),
    "POST /api/v1/identity/decisions/{decision_id}/revert": S(json={"reason": "权限矩阵"}, control="none"),
    # --- API: data quality ---
    "GET /api/v1/quality/files": S(),
    "GET /api/v1/quality/runs": S(),
    "GET /api/v1/quality/quarantine": S(),
    # --- API: tags and segments ---
    "GET /api/v1/tags": S(),
    "GET /api/v1/segments/columns": S(),
    "POST /api/v1/segments/count": S(json={"rule": RULE}),
    "POST /api/v1/segments/preview": S(json={"rule": RULE, "limit": 200}),
    "POST /api/v1/segments/export": S(json={"rule": RULE, "purpose": "权限矩阵"}),
    # --- API: users ---
    "GET /api/v1/users": S(),
    "GET /api/v1/users/{user_id}": S(),
    "POST /api/v1/users": S(json={"user_id": "matrix-new", "role": "analyst", "password": "a-long-password-1",
                                  "reason": "权限矩阵"}, control="none"),
    "PATCH /api/v1/users/{user_id}": S(json={"can_reveal": False, "reason": "权限矩阵"}, control="none"),
    # --- console ---
    "GET /console/login": S(public=True),
    "POST /console/login": S(public=True, send_public=False),
    "POST /console/logout": S(form={}, control="none"),
    "GET /console/": S(),
    "GET /console/customers": S(params={"q": "{customer}"}, search=True),
    "POST /console/customers/export": S(form={"purpose": "权限矩阵", "q": "{customer}"}, search=True),
    "GET /console/customers/{customer_id}": S(),
    "POST /console/customers/{customer_id}/reveal": S(form={"field": "phone", "reason": "权限矩阵"}, reveals=True),
    "GET /console/tasks": S(),
    "GET /console/advice": S(params={"customer_id": "{customer}"}),
    "GET /console/advice/result": S(params={"customer_id": "{customer}"}, control="one"),
    "POST /console/advice/assessments": S(form={"customer_id": "{customer}", "questionnaire": "risk_tolerance",
                                                **RISK}, control="one"),
    "GET /console/advice/review": S(params={"customer_id": "{customer}"}, control="one"),
    "GET /console/advice/review.pdf": S(params={"customer_id": "{customer}"}, control="one"),
    "GET /console/audit": S(),
    "GET /console/audit/verify": S(),
    "GET /console/identity": S(),
    "GET /console/identity/history": S(params={"customer_id": "{customer}"}),
    "POST /console/identity/decide": S(form={"left": "{record}", "right": "{record}", "verdict": "confirm",
                                             "reason": "权限矩阵"}, control="none"),
    "POST /console/identity/merge": S(form={"customer_a": "{customer}", "customer_b": "{other}", "reason": "权限矩阵"},
                                      control="none"),
    "POST /console/identity/split": S(form={"unique_id": "{record}", "reason": "权限矩阵"}, control="none"),
    "POST /console/identity/decisions/{decision_id}/revert": S(form={"reason": "权限矩阵"}, control="none"),
    "GET /console/quality": S(),
    "GET /console/segments": S(),
    "POST /console/segments/count": S(form={"rule": RULE}),
    "POST /console/segments/preview": S(form={"rule": RULE}),
    "POST /console/segments/export": S(form={"rule": RULE, "purpose": "权限矩阵"}),
    "GET /console/users": S(),
    "POST /console/users": S(form={"user_id": "matrix-new", "role": "analyst", "password": "a-long-password-1",
                                   "reason": "权限矩阵"}, control="none"),
    "POST /console/users/{user_id}": S(form={"can_reveal": "no", "reason": "权限矩阵"}, control="none"),
    # --- channels (aggregates, no customer records) ---
    "GET /api/v1/channels/attribution": S(control="one"),
    "GET /api/v1/channels/roi": S(control="one"),
    "POST /api/v1/channels/plan": S(json={"weeks": 13}, control="one"),
    "GET /console/channels": S(),
    "GET /console/channels/attribution": S(control="one"),
    "GET /console/channels/roi": S(control="one"),
    "POST /console/channels/plan": S(form={"weeks": "13"}, control="one"),
    # --- workforce: KPI scorecards (aggregates, scoped by access.policy.scorecard_filters) and the simulator ---
    "GET /api/v1/workforce/scorecards": S(params={"level": "agent"}, control="one"),
    "GET /api/v1/workforce/handovers": S(),
    "GET /api/v1/customers/{customer_id}/pod": S(),
    "POST /api/v1/workforce/simulate": S(json={"plan": "balanced", "years": 3}, control="one"),
    "GET /console/workforce": S(params={"level": "agent"}, control="one"),
    "GET /console/workforce/simulate": S(params={"years": "3"}, control="one"),
    # --- tasks and activities (the worklist) ---
    "GET /api/v1/work/tasks": S(params={"customer_id": "{customer}", "view": "all"}, search=True),
    "POST /api/v1/work/tasks": S(json={"customer_id": "{customer}", "title": "权限矩阵回访", "due_date": "2031-01-01"}),
    "GET /api/v1/work/tasks/{task_id}": S(),
    "POST /api/v1/work/tasks/{task_id}/complete": S(json={"outcome": "contacted", "note": "权限矩阵"}),
    "POST /api/v1/work/tasks/{task_id}/snooze": S(json={"until": SOON}),
    "POST /api/v1/work/tasks/{task_id}/cancel": S(json={"reason": "权限矩阵"}),
    "POST /api/v1/work/tasks/{task_id}/reopen": S(task="snoozed"),
    "POST /api/v1/work/tasks/{task_id}/reassign": S(json={"to_user": "{me}", "reason": "权限矩阵"}),
    "GET /api/v1/work/activities": S(params={"customer_id": "{customer}"}),
    "POST /api/v1/work/activities": S(json={"customer_id": "{customer}", "kind": "note", "summary": "权限矩阵"}),
    "GET /api/v1/work/calendar": S(control="one"),
    # --- the agent workbench (console) ---
    "GET /console/work": S(),
    "POST /console/work/tasks/{task_id}/complete": S(form={"outcome": "contacted"}),
    "POST /console/work/tasks/{task_id}/snooze": S(form={"days": "3"}),
    # --- renewal collection ({policy}: a premium of the customer in its grace period, see the fixture) ---
    "GET /api/v1/renewals": S(params={"customer_id": "{customer}"}, search=True),
    "GET /api/v1/renewals/calendar": S(control="one"),
    "GET /api/v1/renewals/impact": S(control="one"),
    "POST /api/v1/renewals/{policy_no}/outcome": S(json={"due_date": TODAY, "outcome": "unreachable",
                                                         "note": "权限矩阵"}),
    "GET /console/renewals": S(params={"view": "all"}),
    "POST /console/renewals/{policy_no}/outcome": S(form={"due_date": TODAY, "outcome": "unreachable"}),
    # --- service cases ---
    "GET /api/v1/cases": S(params={"customer_id": "{customer}", "view": "all"}, search=True),
    "POST /api/v1/cases": S(json={"customer_id": "{customer}", "case_type": "complaint", "subject": "权限矩阵投诉"}),
    "GET /api/v1/cases/{case_id}": S(),
    "POST /api/v1/cases/{case_id}/status": S(json={"status": "in_progress", "note": "权限矩阵"}),
    "POST /api/v1/cases/{case_id}/reopen": S(json={"reason": "权限矩阵"}, case="resolved"),
    "POST /api/v1/cases/{case_id}/comments": S(json={"note": "权限矩阵"}),
    "POST /api/v1/cases/{case_id}/checklist": S(json={"code": "claim_form"}),
    "POST /api/v1/cases/{case_id}/reveal": S(json={"reason": "权限矩阵"}, reveals=True),
    "GET /console/cases": S(params={"customer_id": "{customer}", "view": "all"}),
    "GET /console/cases/new": S(params={"customer_id": "{customer}"}),
    "POST /console/cases": S(form={"customer_id": "{customer}", "case_type": "complaint", "subject": "权限矩阵投诉"}),
    "GET /console/cases/{case_id}": S(),
    "POST /console/cases/{case_id}/status": S(form={"status": "in_progress"}),
    "GET /h5/cases": S(),
    "POST /h5/cases": S(form={"case_type": "complaint", "subject": "权限矩阵投诉"}),
    # --- customer H5 (and its sign-in API) ---
    "GET /h5/login": S(public=True),
    "POST /h5/login/code": S(public=True, send_public=False),
    "POST /h5/login": S(public=True, send_public=False),
    "POST /api/v1/h5/code": S(public=True, send_public=False),
    "POST /api/v1/h5/session": S(public=True, send_public=False),
    "POST /h5/logout": S(form={}, control="none"),
    "GET /h5/": S(),
    "GET /h5/advisor": S(),
    "POST /h5/advisor": S(form={"questionnaire": "risk_tolerance", **RISK}),
    "GET /h5/plan": S(),
    "POST /h5/contact-agent": S(form={"products": "守护定期寿险", "note": "权限矩阵"}),
    "GET /h5/policies": S(),
    "POST /h5/policies": S(form={"policy_no": "MATRIX-1", "insurer": "他司", "product_name": "他司医疗险",
                                 "product_type": "medical", "issue_date": "2021-01-01", "sa_medical": "2000000"}),
    "POST /h5/policies/{row_id}/remove": S(form={}),
    "GET /h5/report.pdf": S(),
    # --- proposal links (建议书): staff share a plan; anyone with the link opens it ---
    "POST /api/v1/customers/{customer_id}/proposals": S(json={}, control="one"),
    "GET /api/v1/customers/{customer_id}/proposals": S(),
    "POST /api/v1/proposals/{proposal_id}/revoke": S(json={"reason": "权限矩阵"}),
    "POST /console/advice/proposals": S(form={"customer_id": "{customer}"}, control="one"),
    "POST /console/proposals/{proposal_id}/revoke": S(form={}),
    "GET /h5/proposal/{token}": S(public=True),
    # --- journeys, consent and the H5 inbox (issue 14) ---
    "GET /api/v1/journeys": S(),
    "GET /api/v1/journeys/{journey_key}/stats": S(),
    "POST /api/v1/journeys/events": S(json={"events": [{"customer_id": "{customer}", "event_type": "birthday",
                                                        "occurred_at": "2026-12-07T10:00:00+08:00"}]}),
    "GET /api/v1/customers/{customer_id}/consent": S(),
    "POST /api/v1/customers/{customer_id}/consent": S(json={"purpose": "marketing", "granted": True}),
    "GET /api/v1/customers/{customer_id}/consent/impact": S(params={"purpose": "marketing"}),
    "GET /console/journeys": S(),
    "POST /console/journeys/check": S(form={"source": "key: x"}, ok=(422,)),
    "POST /console/journeys": S(form={"source": MATRIX_JOURNEY}),
    "POST /console/journeys/new": S(form={"key": "matrix_form", "name_zh": "表单", "event": "birthday"}),
    "POST /console/journeys/add-node": S(form={"source": MATRIX_JOURNEY, "after": "@start", "node_id": "extra",
                                               "node_type": "tag", "tag": "matrix_tag"}, ok=(200, 422)),
    "POST /console/journeys/remove-node": S(form={"source": MATRIX_JOURNEY, "remove": "nowhere"}, ok=(422,)),
    "GET /console/journeys/{journey_key}": S(),
    "POST /console/journeys/{journey_key}/status": S(form={"status": "active"}),
    "POST /console/customers/{customer_id}/consent": S(form={"action": "grant", "purpose": "marketing",
                                                            "channel": "sms"}),
    "GET /console/templates": S(),
    "POST /console/templates": S(form={"code": "matrix_new", "channel": "sms", "kind": "service",
                                       "body_zh": "您好，{{ customer_name }}", "body_en": "Hello {{ customer_name }}"}),
    "GET /console/templates/{code}/{version}": S(),
    # one version for every probe: after the first submit or approval the next one is refused (422), which
    # still shows that the guard let the caller through
    "POST /console/templates/{code}/{version}/submit": S(form={}, ok=(422,)),
    "POST /console/templates/{code}/{version}/review": S(form={"move": "approve"}, ok=(422,)),
    "GET /h5/inbox": S(),
    "GET /h5/consent": S(),
    "POST /h5/consent": S(form={"purpose": "marketing", "action": "grant"}),
    # explanations of automated decisions (PIPL art. 24): staff within their scope, the H5 customer their own
    "GET /api/v1/customers/{customer_id}/explanations": S(),
    "GET /console/customers/{customer_id}/explanations": S(),
    "GET /h5/explanations": S(),
    # data-subject requests: each probe logs an access request; request 1 exists once any probe ran, and
    # completing it again is refused (422), which still shows the guard let the caller through
    "POST /api/v1/customers/{customer_id}/requests": S(json={"kind": "access"}),
    "GET /api/v1/requests": S(),
    "GET /api/v1/requests/{request_id}": S(path={"request_id": "1"}, ok=(200, 404)),
    "POST /api/v1/requests/{request_id}/complete": S(json={"note": "ok"}, path={"request_id": "1"},
                                                     ok=(200, 404, 422)),
    "POST /api/v1/requests/{request_id}/reject": S(json={"reason": "not verified"}, path={"request_id": "1"},
                                                   ok=(200, 404, 422)),
    "GET /console/requests": S(),
    "GET /console/requests/{request_id}": S(path={"request_id": "1"}, ok=(200, 404)),
    "POST /console/requests/{request_id}/complete": S(form={"note": "ok"}, path={"request_id": "1"},
                                                      ok=(303, 404, 422)),
    "POST /console/requests/{request_id}/reject": S(form={"reason": "not verified"}, path={"request_id": "1"},
                                                    ok=(303, 404, 422)),
    "POST /console/customers/{customer_id}/requests": S(form={"kind": "access"}),
    "POST /console/customers/{customer_id}/holds": S(form={"reason": "matrix hold"}),
    "POST /console/holds/{hold_id}/release": S(form={}, path={"hold_id": "1"}, ok=(303, 422)),
    "GET /h5/requests": S(),
    "GET /h5/requests/new": S(),
    "POST /h5/requests": S(form={"kind": "access"}),
    "GET /h5/requests/{request_id}/copy": S(path={"request_id": "1"}, ok=(200, 404)),
    # sales traceability: the sales pages record (an open session for events, one to close: the second
    # close is refused, 409); compliance replays; the H5 customer downloads their own receipt
    "POST /api/v1/trace/sessions": S(json={"customer_id": "{customer}", "product_code": "matrix_ci"}),
    "POST /api/v1/trace/sessions/{session_id}/events": S(json={"events": [
        {"type": "submit", "at": "2030-12-30T10:05:00+08:00"}]}, path={"session_id": "matrix-open"}),
    "POST /api/v1/trace/sessions/{session_id}/close": S(json={"outcome": "abandoned"},
                                                        path={"session_id": "matrix-close"}, ok=(409,)),
    "GET /api/v1/trace/pages": S(),
    "GET /api/v1/trace/sessions/{session_id}/receipt": S(),
    "GET /api/v1/trace/public-key": S(public=True),
    "GET /console/trace": S(),
    "GET /console/trace/sessions/{session_id}": S(),
    "GET /console/trace/pages/{code}/{version}": S(path={"code": "matrix_terms"}),
    "GET /h5/trace": S(),
    "GET /h5/trace/{session_id}": S(),
    "GET /h5/trace/{session_id}/receipt.json": S(),
    # ecosystem services: orders of the customers in scope (customer.read), placing and moving them on
    # (ecosystem.order), settlements and the funnel (ecosystem.manage); the fixture seeds the catalogue
    "GET /api/v1/ecosystem/services": S(),
    "GET /api/v1/ecosystem/customers/{customer_id}/entitlements": S(),
    "GET /api/v1/ecosystem/orders": S(params={"customer_id": "{customer}"}, search=True),
    "POST /api/v1/ecosystem/orders": S(json={"customer_id": "{customer}", "service_code": "legal_consult",
                                             "pay": True}),
    "GET /api/v1/ecosystem/orders/{eco_order_id}": S(),
    "POST /api/v1/ecosystem/orders/{eco_order_id}/status": S(json={"status": "accepted"}),
    "GET /api/v1/ecosystem/sla-breaches": S(),
    "GET /api/v1/ecosystem/settlements": S(),
    "POST /api/v1/ecosystem/settlements": S(json={"provider": "hengzheng_legal", "period": "2026-01"}),
    "GET /api/v1/ecosystem/settlements/{settlement_id}": S(path={"settlement_id": "ESmatrix"}, ok=(404,)),
    "POST /api/v1/ecosystem/settlements/{settlement_id}/confirm": S(path={"settlement_id": "ESmatrix"}, ok=(404,)),
    "GET /api/v1/ecosystem/funnel": S(),
    "GET /console/ecosystem": S(),
    "GET /console/ecosystem/orders": S(params={"customer_id": "{customer}"}),
    "POST /console/ecosystem/orders": S(form={"customer_id": "{customer}", "service_code": "legal_consult",
                                              "pay": "yes"}),
    "POST /console/ecosystem/orders/{eco_order_id}/status": S(form={"status": "accepted"}),
    "GET /console/ecosystem/settlements": S(),
    "POST /console/ecosystem/settlements": S(form={"provider": "hengzheng_legal", "period": "2026-01"}),
    "POST /console/ecosystem/settlements/{settlement_id}/confirm": S(form={}, path={"settlement_id": "ESmatrix"},
                                                                     ok=(404,)),
    "GET /console/ecosystem/funnel": S(),
    "GET /h5/services": S(),
    "POST /h5/services": S(form={"service_code": "family_doctor_consult"}),
    # the partner registry (admin manages, head office reads; partner "matrix-partner" and its two keys are
    # made by the fixture, one to rotate and one to revoke)
    "GET /console/partners": S(),
    "GET /console/partners/new": S(),
    "POST /console/partners": S(form={"partner_id": "matrix-new-partner", "name": "权限矩阵新合作方",
                                      "licence": "scene", "rate_per_minute": "60"}),
    "GET /console/partners/{partner_id}": S(),
    "POST /console/partners/{partner_id}/settings": S(form={"products": "RS01", "scenes": "ecommerce",
                                                            "rate_per_minute": "600"}),
    "POST /console/partners/{partner_id}/status": S(form={"status": "active", "confirm": "yes"}),
    "POST /console/partners/{partner_id}/keys": S(form={"mode": "sandbox"}),
    "POST /console/partners/{partner_id}/keys/{key_id}/rotate": S(form={}, path={"key_id": MATRIX_KEYS[0]}),
    "POST /console/partners/{partner_id}/keys/{key_id}/revoke": S(form={}, path={"key_id": MATRIX_KEYS[1]}),
}


# --- the application's routes and their guards ------------------------------------------------

@dataclass(frozen=True)
class Guard:
    kind: str                       # public | staff | customer
    actions: frozenset[Action] = frozenset()

    def allows(self, role: str) -> bool:
        return self.kind == "staff" and self.actions <= ACTIONS[Role(role)]


def _guard_of(dependant: Any) -> Guard:
    actions: set[Action] = set()
    kinds: set[str] = set()

    def walk(dep: Any) -> None:
        for sub in dep.dependencies:
            call = sub.call
            if call is auth.signed_in:
                kinds.add("staff")
            elif call is auth.require_customer_session:
                kinds.add("customer")
            elif getattr(call, "__qualname__", "") == "require.<locals>.dependency":
                kinds.add("staff")
                actions.update(c.cell_contents for c in call.__closure__ or () if isinstance(c.cell_contents, Action))
            walk(sub)

    walk(dependant)
    assert len(kinds) <= 1, f"a route guarded for both staff and customers: {kinds}"
    return Guard(kinds.pop() if kinds else "public", frozenset(actions))


def app_routes(app: FastAPI) -> dict[str, tuple[str, Guard]]:
    """'METHOD /path' -> (path, guard) for every route of the app (mounts such as /static aside)."""
    out = {}
    for route in iter_route_contexts(app.routes):
        methods = route.methods or set()
        if not methods or route.path is None:
            continue
        dependant = getattr(route, "dependant", None)
        guard = _guard_of(dependant) if dependant is not None else Guard("public")
        for method in sorted(methods - {"HEAD"}):
            out[f"{method} {route.path}"] = (route.path, guard)
    return out


def area(path: str) -> str:
    return "console" if path.startswith("/console") else "h5" if path.startswith("/h5") else "api"


# --- the module's app, clients and facts -------------------------------------------------------

@dataclass
class Matrix:
    web: Web
    routes: dict[str, tuple[str, Guard]]
    consoles: dict[str, tuple[TestClient, str]]      # role -> (client with a console session, CSRF token)
    anon: TestClient
    h5: tuple[TestClient, str]                       # H5 customer session on its own customer, CSRF
    h5_as_staff: TestClient                          # the H5 customer's session in the staff cookie
    scopes: dict[str, set[str]]                      # role -> customer ids in scope
    traces: dict[str, list[str]]                     # customer id -> masked phone / ID shown for it
    clear: set[str]                                  # every clear phone and ID number of the book
    households: dict[str, str]
    records: dict[str, str]
    others: dict[str, str]
    wallets: dict[str, int]                          # customer id -> one of its external policies
    checked: list[str] = field(default_factory=list)

    def customer_for(self, who: str, foreign: bool) -> str:
        if who == "customer":
            return self.web.foreign["agent"] if foreign else self.web.own["agent"]
        return self.web.foreign[who] if foreign else self.web.own[who]


def _scopes(web: Web) -> dict[str, set[str]]:
    cust = reflected(web.engine, "customer")
    out = {}
    with web.engine.connect() as conn:
        for role in ROLES:
            user = accounts.get_user(web.engine, web.users[role])
            assert user is not None
            rule = row_rule(principal_from_user(user))
            out[role] = {r[0] for r in conn.execute(select(cust.c.customer_id)
                                                     .where(scope_condition(rule, cust.c.customer_id)))}
    return out


def _book_facts(web: Web) -> tuple[dict[str, list[str]], set[str], dict[str, str], dict[str, str]]:
    cipher = FieldCipher.from_text(KEY)
    cust, member = reflected(web.engine, "customer"), reflected(web.engine, "household_member")
    record = reflected(web.engine, "identity_record")
    traces: dict[str, list[str]] = {}
    clear: set[str] = set()
    with web.engine.connect() as conn:
        for row in conn.execute(select(cust.c.customer_id, cust.c.phone_masked, cust.c.id_number_masked,
                                       cust.c.phone_enc, cust.c.id_number_enc)):
            traces[row.customer_id] = [m for m in (row.phone_masked, row.id_number_masked) if m and len(m) >= 11]
            for enc in (row.phone_enc, row.id_number_enc):
                value = cipher.decrypt(enc)
                if value and len(value) >= 11:
                    clear.add(value)
        households = {r[0]: r[1] for r in conn.execute(select(member.c.customer_id, member.c.household_id))}
        records = {r[0]: r[1] for r in conn.execute(select(record.c.customer_id, func.min(record.c.unique_id))
                                                    .group_by(record.c.customer_id))}
    return traces, clear, households, records


@pytest.fixture(scope="module", params=BACKENDS)
def matrix(request: pytest.FixtureRequest, published: Published,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    with module_web(request, published, tmp_path_factory.mktemp("matrix")) as web:
        app = web.client.app
        assert isinstance(app, FastAPI)
        consoles = {}
        for role in ROLES:
            client = TestClient(app, base_url="http://127.0.0.1")
            consoles[role] = (client, web.login(role, client))
        own = web.own["agent"]
        token, csrf = accounts.create_session(web.engine, "customer", own)
        h5 = TestClient(app, base_url="http://127.0.0.1", cookies={H5_COOKIE: token})
        staff_cookie = TestClient(app, base_url="http://127.0.0.1", cookies={SESSION_COOKIE: token})
        scopes = _scopes(web)
        traces, clear, households, records = _book_facts(web)
        others = {role: next(c for c in sorted(scopes[role]) if c != own) for role in ROLES}
        wallets = {cid: wallet.add(web.engine, cid, {"policy_no": f"W-{cid}", "insurer": "他司", "product_type":
                                                     "medical", "sa_medical": 1_000_000}, "matrix")
                   for cid in (own, web.foreign["agent"])}
        with web.engine.begin() as conn:  # a premium in its grace period for every customer the probes use
            for cid in sorted(set(web.own.values()) | set(web.foreign.values())):
                conn.execute(insert(premium_due).values(
                    policy_no=f"DUE-{cid}", due_date=date.today(), customer_id=cid, state="grace", amount_due=100.0,
                    annual_premium=1200.0, lapse_date=date.today() + timedelta(days=60)))
        jeng.publish(web.engine, MATRIX_JOURNEY, "matrix")
        messaging.add_template(web.engine, {"code": "matrix_sms", "channel": "sms", "kind": "service",
                                            "body_zh": "您好，{{ customer_name }}", "body_en": "Hello"}, "matrix")
        trace_matrix.add_trace_sessions(web.engine, app.state.shouhu.cipher, own)
        eco.seed_catalogue(web.engine, datetime.now(UTC))
        registry.create_partner(web.engine, "matrix-partner", "权限矩阵合作方", "scene", product_codes=["RS01"],
                                scenes=["ecommerce"])
        for key_id in MATRIX_KEYS:
            partner_store.add_key(web.engine, {
                "key_id": key_id, "partner_id": "matrix-partner", "secret_sha256": "0" * 64, "scopes": ["read"],
                "mode": "sandbox", "created_at": "2030-12-30T02:00:00Z", "expires_at": None, "revoked_at": None,
                "last_used_at": None})
        yield Matrix(web, app_routes(app), consoles, TestClient(app, base_url="http://127.0.0.1"), (h5, csrf),
                     staff_cookie, scopes, traces, clear, households, records, others, wallets)


# --- sending ------------------------------------------------------------------------------------

def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, v in values.items():
            value = value.replace("{" + key + "}", v)
        return value
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def send(m: Matrix, key: str, who: str | None, customer: str, client: TestClient | None = None,
         extra: dict[str, str] | None = None) -> Response:
    """Send the route's sample as ``who`` (a role, ``customer`` for the H5 session, None: anonymous)."""
    method, template = key.split(" ", 1)
    sample = ROUTES[key]
    role = who if who in ROLES else "agent"
    values = {"customer": customer, "policy": f"DUE-{customer}",
              "household": m.households.get(customer, "HH000000000000"),
              "wallet": str(m.wallets.get(customer, 0)), "me": m.web.users[role],
              "record": m.records.get(customer, "none:0"), "other": m.others[role], "user": m.web.users["analyst"]}
    if "{task_id}" in template:
        values["task"] = str(_fresh_task(m, customer, sample.task))
    if "{case_id}" in template:
        values["case"] = str(_fresh_case(m, customer, sample.case))
    if "{proposal_id}" in template:
        values["proposal"] = str(_fresh_proposal(m, customer))
    if "{eco_order_id}" in template:
        values["eco_order"] = str(eco.order(m.web.engine, "legal_consult", datetime.now(UTC), customer_id=customer,
                                            pay=True)["order_id"])
    path = template
    for name in re.findall(r"{(\w+)}", template):
        path = path.replace("{" + name + "}", _fill(sample.path.get(name, PATH_PARAMS.get(name, "x")), values))
    headers: dict[str, str] = {}
    form = _fill(sample.form, values) if sample.form is not None else None
    if client is None:
        if who is None:
            client = m.anon
        elif who == "customer":
            client, csrf = m.h5
            headers["X-CSRF-Token"] = csrf
        elif area(template) == "console":
            client, csrf = m.consoles[who]
            headers["X-CSRF-Token"] = csrf
        else:
            client = m.anon
            headers |= m.web.auth(who)
    kwargs: dict[str, Any] = {"params": _fill(sample.params, values) | (extra or {}), "headers": headers,
                              "follow_redirects": False}
    if sample.json is not None:
        kwargs["json"] = _fill(sample.json, values)
    elif form is not None and method != "GET":
        kwargs["data"] = form
    return client.request(method, path, **kwargs)


def _fresh_task(m: Matrix, customer: str, status: str) -> int:
    extra = {"snoozed_until": "2031-01-01"} if status == "snoozed" else {}
    return activity_store.create_task(m.web.engine, {
        "customer_id": customer, "owner_user_id": m.web.users["agent"], "title": "权限矩阵任务", "source": "manual",
        "status": status, "priority": 2, "due_date": "2030-12-31"} | extra, "matrix")


def _fresh_proposal(m: Matrix, customer: str) -> int:
    return proposal_store.create(m.web.engine, {
        "token_hash": uuid.uuid4().hex * 2, "customer_id": customer, "snapshot": "{}", "method": "dime",
        "created_by": "matrix", "created_at": "2030-12-30T10:00:00+00:00", "expires_at": "2031-01-06T10:00:00+00:00"})


def _fresh_case(m: Matrix, customer: str, status: str) -> int:
    stamp = "2030-12-30T10:00:00+08:00"
    return case_store.create_case(m.web.engine, {
        "customer_id": customer, "case_type": "claim_help", "status": status, "priority": 2, "subject": "权限矩阵工单",
        "claim_type": "medical", "checklist": json.dumps([{"code": "claim_form", "received": False}]),
        "payload_enc": FieldCipher.from_text(KEY).encrypt(json.dumps({"incident_date": "2030-12-01"})),
        "channel": "console", "owner_user_id": m.web.users["agent"], "opened_at": stamp, "clock_since": stamp,
        "consumed_s": 0.0, "reopened": 0, "escalated": 0}, "matrix")


# --- what every answer must (not) contain -------------------------------------------------------

def _text(r: Response) -> str:
    kind = r.headers.get("content-type", "")
    if not kind.startswith(("application/json", "text/")):
        return ""
    return r.content.decode("utf-8", errors="replace")


def clear_numbers(text: str, clear: set[str]) -> list[str]:
    """Clear ID numbers or phones in ``text``: by the audit log's patterns, and any of the book's."""
    found = []
    for pattern in PII:
        for hit in pattern.finditer(text):
            before, after = text[max(0, hit.start() - 1):hit.start()], text[hit.end():hit.end() + 1]
            if not re.match(r"[0-9A-Za-z_.-]", before) and not re.match(r"[0-9A-Za-z_.-]", after):
                found.append(hit.group(0))
    found += [v for v in clear if v in text]
    return found


def _without_echo(text: str, sent: str) -> str:
    """The answer without the search box's echo of what was typed into it."""
    return text.replace(f'value="{sent}"', 'value=""')


def check_answer(m: Matrix, key: str, who: str | None, r: Response, sent: str = "") -> None:
    text = _without_echo(_text(r), sent) if sent else _text(r)
    if not ROUTES[key].reveals:
        leaked = clear_numbers(text, m.clear)
        assert not leaked, f"{key} as {who}: clear personal numbers in the answer: {leaked[:3]}"
    if who in ROLES and r.status_code < 400:
        outside = set(CUSTOMER_ID.findall(text)) - m.scopes[str(who)]
        assert not outside, f"{key} as {who}: customers outside the scope in the answer: {sorted(outside)[:3]}"
    m.checked.append(key)


def expect_signed_out(key: str, r: Response, where: str) -> None:
    if where == "api":
        assert r.status_code == 401, (key, r.status_code, r.text[:200])
        assert r.json()["error"] == "not_signed_in"
    else:
        assert r.status_code == 303, (key, r.status_code, r.text[:200])
        assert r.headers["location"].startswith(f"/{where}/login"), r.headers["location"]


def expect_forbidden(key: str, role: str, r: Response, where: str) -> None:
    assert r.status_code == 403, (key, role, r.status_code, r.text[:200])
    if where == "api":
        assert r.json()["error"] == "forbidden"
    else:
        assert r.headers["content-type"].startswith("text/html")


def expect_nothing_of(m: Matrix, key: str, role: str, foreign: str, r: Response) -> None:
    sample = ROUTES[key]
    text = _without_echo(_text(r), foreign)
    if sample.search:  # an empty answer, or a refusal to export nothing
        assert r.status_code < 500, (key, role, r.status_code, text[:300])
        assert foreign not in text, f"{key} as {role}: the foreign customer is in the answer"
    else:
        assert r.status_code in (403, 404), (key, role, r.status_code, text[:300])
    traces = [t for t in m.traces.get(foreign, []) if t in text]
    assert not traces, f"{key} as {role}: the foreign customer's data is in the answer: {traces}"


# --- the tests ----------------------------------------------------------------------------------

def test_every_route_is_in_the_matrix(matrix: Matrix) -> None:
    missing = sorted(set(matrix.routes) - set(ROUTES))
    assert not missing, ("routes the permission matrix does not cover; add a sample request for each to "
                         f"tests/web/test_permission_matrix.py ROUTES: {missing}")
    stale = sorted(set(ROUTES) - set(matrix.routes))
    if stale:  # harmless (skipped), but worth tidying
        warnings.warn(f"ROUTES names routes the application does not have: {stale}", stacklevel=1)


def test_every_route_but_the_public_ones_is_guarded(matrix: Matrix) -> None:
    for key, (_, guard) in matrix.routes.items():
        sample = ROUTES.get(key)
        if sample is None:
            continue
        if sample.public:
            assert guard.kind == "public", f"{key} is marked public but needs {guard}"
        else:
            assert guard.kind != "public", f"{key} has no access guard (require(Action.X) or a session)"


CHECKS = sorted(k for k, s in ROUTES.items() if not s.public)


def _audit_head(m: Matrix) -> int:
    with m.web.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(audit_log.c.seq), 0))).scalar_one())


@pytest.mark.parametrize("key", CHECKS)
def test_route(matrix: Matrix, key: str, caplog: pytest.LogCaptureFixture) -> None:
    if key not in matrix.routes:
        pytest.skip("the application has no such route (see test_every_route_is_in_the_matrix)")
    caplog.set_level("INFO")
    start = _audit_head(matrix)
    probe(matrix, key)
    for entry in audit.read(matrix.web.engine, limit=10_000):
        if entry["seq"] <= start:
            break
        line = " ".join(str(entry[f]) for f in audit.FIELDS)
        leaked = clear_numbers(line, matrix.clear)
        assert not leaked, f"{key}: clear personal numbers in audit entry {entry['seq']}: {leaked[:3]}"
    leaked = clear_numbers(caplog.text, matrix.clear)
    assert not leaked, f"{key}: clear personal numbers in the server log: {leaked[:3]}"


def probe(m: Matrix, key: str) -> None:
    """Anonymous, H5 customer, every role: against own and foreign objects (see the module's doc)."""
    sample = ROUTES[key]
    template, guard = m.routes[key]
    where = area(template)
    own = m.web.own["agent"]

    bound = any(f"{{{p}}}" in json.dumps([template, sample.params, sample.json, sample.form]) for p in BOUND)

    r = send(m, key, None, own)
    check_answer(m, key, None, r)
    expect_signed_out(key, r, where)

    if guard.kind == "customer":
        for role in ("agent", "admin"):  # neither a staff token nor a console session opens a customer's page
            for client in (None, m.consoles[role][0]):
                r = send(m, key, role, own, client=client)
                expect_signed_out(key, r, "h5")
        foreign = m.customer_for("customer", foreign=True)
        if bound:
            r = send(m, key, "customer", foreign)
            check_answer(m, key, "customer", r)
            expect_nothing_of(m, key, "customer", foreign, r)
        if sample.control != "none":  # own data; a customer id slipped into the query is ignored
            r = send(m, key, "customer", own, extra={"customer_id": foreign})
            check_answer(m, key, "customer", r)
            assert r.status_code < 400 or r.status_code in sample.ok, (key, r.status_code, r.text[:300])
            assert foreign not in _text(r) and not [t for t in m.traces.get(foreign, []) if t in _text(r)]
        return

    r = send(m, key, "customer", own, client=m.h5_as_staff)  # an H5 session is no staff session
    check_answer(m, key, None, r)
    expect_signed_out(key, r, where)
    r = send(m, key, "customer", own)                         # nor is the H5 cookie
    check_answer(m, key, None, r)
    expect_signed_out(key, r, where)

    controlled = False
    for role in ROLES:
        if not guard.allows(role):
            r = send(m, key, role, own)
            check_answer(m, key, role, r)
            expect_forbidden(key, role, r, where)
            continue
        if bound and role in m.web.foreign:
            foreign = m.customer_for(role, foreign=True)
            r = send(m, key, role, foreign)
            check_answer(m, key, role, r, sent=foreign)
            expect_nothing_of(m, key, role, foreign, r)
        if sample.control == "all" or (sample.control == "one" and not controlled and
                                       (role in m.web.foreign or role == "admin")):
            r = send(m, key, role, own)
            check_answer(m, key, role, r)
            assert r.status_code < 400 or r.status_code in sample.ok, (key, role, r.status_code, r.text[:300])
            controlled = True



# --- the agent's wall by other paths -----------------------------------------------------------

def _clear_of(m: Matrix, customer_id: str) -> dict[str, str]:
    cipher = FieldCipher.from_text(KEY)
    cust = reflected(m.web.engine, "customer")
    with m.web.engine.connect() as conn:
        row = conn.execute(select(cust).where(cust.c.customer_id == customer_id)).one()._mapping
    return {f: v for f in ("name", "phone", "id_number") if (v := cipher.decrypt(row[f"{f}_enc"]))}


@pytest.mark.parametrize("role", ["agent", "branch_manager", "service", "health_manager"])
def test_search_never_finds_a_foreign_customer(matrix: Matrix, role: str) -> None:
    m = matrix
    foreign = m.web.foreign[role]
    assert foreign not in m.scopes[role]
    clear = _clear_of(m, foreign)
    client, _ = m.consoles[role]
    queries: list[dict[str, str]] = [{"q": foreign}, *[{"q": v} for v in clear.values()],
                                     *[{field: v} for field, v in clear.items()]]
    for params in queries:
        r = m.anon.get("/api/v1/customers", params=params, headers=m.web.auth(role))
        assert r.status_code == 200 and r.json()["items"] == [], (role, params)
        check_answer(m, "GET /api/v1/customers", role, r)
        if "q" in params:
            page = client.get("/console/customers", params=params)
            assert page.status_code == 200 and foreign not in _without_echo(page.text, params["q"])
            check_answer(m, "GET /console/customers", role, page, sent=params["q"])
    # the same queries find the customer for a role that may see everyone (so they are real queries)
    for params in queries:
        r = m.anon.get("/api/v1/customers", params=params, headers=m.web.auth("head_office"))
        assert foreign in [row["customer_id"] for row in r.json()["items"]], params


def test_export_drops_foreign_customers_and_audits_them_as_refused(matrix: Matrix) -> None:
    m = matrix
    own, foreign = m.web.own["agent"], m.web.foreign["agent"]
    wanted = [own, foreign, m.web.foreign["branch_manager"]]
    r = m.anon.post("/api/v1/customers/export", headers=m.web.auth("agent"),
                    json={"customer_ids": wanted, "purpose": "客户回访"})
    assert r.status_code == 200
    assert own in r.text and foreign not in r.text and m.web.foreign["branch_manager"] not in r.text
    check_answer(m, "POST /api/v1/customers/export", "agent", r)
    entry = audit.read(m.web.engine, action="export", actor=m.web.users["agent"], limit=1)[0]
    assert entry["detail"]["count"] == 1 and entry["detail"]["refused"] == 2


def test_household_shows_foreign_members_by_role_only(matrix: Matrix) -> None:
    m = matrix
    member = reflected(m.web.engine, "household_member")
    scope = m.scopes["agent"]
    with m.web.engine.connect() as conn:
        rows = conn.execute(select(member.c.household_id, member.c.customer_id, member.c.role)).fetchall()
    by_household: dict[str, list[Any]] = {}
    for row in rows:
        by_household.setdefault(row.household_id, []).append(row)
    mixed = [hh for hh, ms in by_household.items()
             if any(x.customer_id in scope for x in ms) and any(x.customer_id not in scope for x in ms)]
    assert mixed, "the book has no household with members on both sides of the agent's wall"
    for hh in mixed:
        mine = next(x.customer_id for x in by_household[hh] if x.customer_id in scope)
        theirs = [x.customer_id for x in by_household[hh] if x.customer_id not in scope]
        for path in (f"/api/v1/customers/{mine}/household", f"/api/v1/customers/{mine}/360"):
            r = m.anon.get(path, headers=m.web.auth("agent"))
            assert r.status_code == 200
            for cid in theirs:
                assert cid not in r.text
                assert not [t for t in m.traces.get(cid, []) if t in r.text]
            members = r.json()["members"] if path.endswith("household") else r.json()["household"]
            hidden = [x for x in members if not x.get("visible")]
            assert len(hidden) == len(theirs)
            assert all(set(x) <= {"customer_id", "household_id", "role", "visible", "role_label"} for x in hidden)
            assert all(x["customer_id"] is None and x["role"] for x in hidden)
        client, _ = m.consoles["agent"]
        page = client.get(f"/console/customers/{mine}")
        assert page.status_code == 200
        check_answer(m, "GET /console/customers/{customer_id}", "agent", page)
        for cid in theirs:
            assert cid not in page.text


def test_pages_link_only_to_customers_in_scope(matrix: Matrix) -> None:
    """Every customer link on the agent's pages (360, household, tasks, search, dashboard) is one of theirs."""
    m = matrix
    client, _ = m.consoles["agent"]
    own = m.web.own["agent"]
    pages = ["/console/", "/console/tasks", f"/console/customers/{own}", f"/console/customers?q={own}",
             f"/console/advice?customer_id={own}", "/console/work"]
    for url in pages:
        r = client.get(url)
        assert r.status_code == 200, url
        links = set(re.findall(r"/console/(?:customers|advice)[^\"'<> ]*?(CU[0-9a-f]{12})", r.text))
        assert links <= m.scopes["agent"], (url, links - m.scopes["agent"])
        check_answer(m, "GET /console/", "agent", r)


