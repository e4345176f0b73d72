"""Every route × every role: what each may open. A route added without an entry here fails."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import Auth
from workflow.models import AuditEntry

ROLES = ["anonymous", "requester.vks", "approver.hanoi", "consent.hanoi", "clerk.hanoi",
         "inspector", "admin", "detainee.demo", "manager.hanoi", "lawyer.demo"]
A, RQ, AP, CO, CL, IN, AD, DE, MA, LW = ROLES
EVERYONE = set(ROLES)
SIGNED_IN = EVERYONE - {A}


def expect(ok: set[str], *, status_ok: int = 200, others: int = 403, **special: int):
    """Expected status per role: `ok` roles get `status_ok`, anonymous is sent to sign in. The
    kiosk session (the detainee) gets 403 on every page but the kiosk's (least privilege), which
    say so in `special`."""
    table = {role: (status_ok if role in ok else others) for role in ROLES}
    if A not in ok:
        table[A] = 302
    table[DE] = 405 if others == 405 else 403
    for role, status in special.items():
        table[role.replace("_", ".")] = status
    return table


# endpoint → (url template, expected status for each role)
MATRIX = {
    "static": ("/static/app.css", expect(EVERYONE, detainee_demo=200)),
    # The probes and metrics are deliberate exceptions: anyone, anywhere (a kiosk too), no
    # sign-in (tests/web/test_ops.py); the metrics only from METRICS_ALLOWED, which holds the
    # test client's loopback address (404 from elsewhere).
    **{name: (url, expect(EVERYONE, detainee_demo=200)) for name, url in [
        ("ops.healthz", "/healthz"), ("ops.readyz", "/readyz"), ("ops.metrics", "/metrics")]},
    "auth.logout": ("/logout", expect(set(), others=405, anonymous=405)),
    "auth.language": ("/language", expect(set(), others=405, anonymous=405)),
    "auth.change_password": ("/password", expect(SIGNED_IN)),
    "auth.reauthenticate": ("/reauthenticate", expect(SIGNED_IN)),
    # The second step needs a right password first: without one, back to the sign-in page.
    "auth.login_code": ("/login/code", expect(set(), others=302)),
    "auth.login_enrol": ("/login/enrol", expect(set(), others=302)),
    "main.home": ("/", expect(SIGNED_IN, detainee_demo=302)),
    "auth.login": ("/login", {**expect(EVERYONE), **{r: 302 for r in SIGNED_IN}}),
    "records.search_persons": ("/search", expect({RQ, AP, CL})),
    "records.person": ("/persons/{person}", expect({AP, CL}, requester_vks=404)),
    # The step before a record of one's scope is shown: what it is opened for.
    "records.read_purpose": ("/persons/{person}/purpose", expect({AP, CL}, requester_vks=404)),
    "records.new_person": ("/persons/new", expect({CL})),
    "records.correct_person": ("/persons/{person}/correct", expect({CL})),
    "records.new_identifier": ("/persons/{person}/identifiers/new", expect({CL})),
    "records.new_episode": ("/persons/{person}/episodes/new", expect({CL})),
    "records.new_document": ("/persons/{person}/documents/new", expect({CL})),
    "records.correct_episode": ("/episodes/{episode}/correct", expect({CL})),
    "records.new_event": ("/episodes/{episode}/events/new", expect({CL})),
    "records.new_case": ("/cases/new", expect({CL})),
    "records.case": ("/cases/{case}", expect({AP, CL}, requester_vks=404)),
    "requests.new": ("/requests/new", expect({RQ, CL, MA, LW})),
    "requests.index": ("/requests/", expect({RQ, AP, CO, CL, MA, LW})),
    "requests.show": ("/requests/{request}", expect({RQ, AP, CO}, others=404)),
    # What one has just done: for those who read the request; with nothing done, the request.
    "requests.done": ("/requests/{request}/done/approve", expect(
        {RQ}, others=404, approver_hanoi=302, consent_hanoi=302)),
    "requests.inbox": ("/requests/inbox", expect(SIGNED_IN)),
    # The work queue's acts: POST only (attacked in test_attacks.py).
    "requests.claim": ("/requests/queue/claim", expect(set(), others=405, anonymous=405)),
    "requests.bulk": ("/requests/queue/bulk", expect(set(), others=405, anonymous=405)),
    # One's own account and how one's mail comes (tests/requests/test_mail.py).
    "account.show": ("/account", expect(SIGNED_IN)),
    "account.notifications": ("/account/notifications", expect(SIGNED_IN)),
    "requests.form_pdf": ("/requests/form.pdf", expect(SIGNED_IN)),
    # The API takes bearer tokens only (tests/web/test_api.py): a signed-in session gets 401.
    "api-docs.openapi_json": ("/api/v1/openapi.json", expect(EVERYONE)),
    "api.Requests": ("/api/v1/requests", expect(set(), others=401, anonymous=401)),
    "api.get_request": ("/api/v1/requests/{request}", expect(set(), others=401, anonymous=401)),
    "api.timeline": ("/api/v1/requests/{request}/timeline",
                     expect(set(), others=401, anonymous=401)),
    **{f"api.{name}": (f"/api/v1/requests/{{request}}/{path}",
                       expect(set(), others=405, anonymous=405))
       for name, path in [("submit", "submit"), ("approve", "approve"), ("refuse", "refuse"),
                          ("grant_consent", "consent"), ("refuse_consent", "refuse-consent"),
                          ("extend", "extend"),
                          ("withdraw", "withdraw"), ("return_for_supplement", "return")]},
    "api.preview": ("/api/v1/requests/preview", expect(set(), others=405, anonymous=405)),
    "api.documents": ("/api/v1/requests/{request}/documents",
                      expect(set(), others=401, anonymous=401)),
    "api.download": ("/api/v1/documents/{extract}/download",
                     expect(set(), others=401, anonymous=401)),
    "api.letter": ("/api/v1/documents/{letter}/letter", expect(set(), others=401, anonymous=401)),
    "api.verify": ("/api/v1/verify/{code}", expect(set(), others=401, anonymous=401)),
    # The releaser's acts over the API: not with a session either (the approver's too).
    "api.preview_extract": ("/api/v1/documents/{extract}/preview",
                            expect(set(), others=401, anonymous=401)),
    **{f"api.{name}": (f"/api/v1/requests/{{request}}/{path}",
                       expect(set(), others=405, anonymous=405))
       for name, path in [("prepare_extract", "extract"),
                          ("release_extract", "extract/{extract}/release"),
                          ("revoke_extract", "extract/{extract}/revoke")]},
    **{f"api.{name}": (path, expect(set(), others=405, anonymous=405)) for name, path in [
        ("export_package", "/api/v1/exchange/packages/export"),
        ("import_package", "/api/v1/exchange/packages"),
        ("run_feed", "/api/v1/exchange/agreements/1/feed"),
        ("record_receipt", "/api/v1/exchange/receipts"), ("make_ask", "/api/v1/exchange/asks/make"),
        ("record_ask", "/api/v1/exchange/asks")]},
    "api.sent_packages": ("/api/v1/exchange/packages/sent?source=TTCSDL",
                          expect(set(), others=401, anonymous=401)),
    # Agencies' own systems: an extract as data and the body's webhooks (token only).
    "api.extract_contents": ("/api/v1/documents/{extract}/contents",
                             expect(set(), others=401, anonymous=401)),
    **{f"api.{name}": (path, expect(set(), others=401, anonymous=401)) for name, path in [
        ("webhooks", "/api/v1/webhooks"), ("register_webhook", "/api/v1/webhooks"),
        ("webhook_deliveries", "/api/v1/webhooks/1/deliveries")]},
    "api.disable_webhook": ("/api/v1/webhooks/1/disable",
                            expect(set(), others=405, anonymous=405)),
    "audit_trail.index": ("/audit/", expect({IN})),
    "audit_trail.verify": ("/audit/verify", expect(set(), others=405, anonymous=405)),
    "admin.users": ("/admin/users", expect({AD})),
    "admin.new_user": ("/admin/users/new", expect({AD})),
    "admin.edit_user": ("/admin/users/{user}", expect({AD})),
    "admin.unlock_user": ("/admin/users/{user}/unlock", expect(set(), others=405,
                                                               anonymous=405)),
    "admin.reset_mfa": ("/admin/users/{user}/reset-mfa", expect(set(), others=405,
                                                                anonymous=405)),
    "admin.revoke_token": ("/admin/users/{user}/tokens/1/revoke",
                           expect(set(), others=405, anonymous=405)),
    # Extracts: previewed by the issuing body's approvers, downloaded by the requester only;
    # letters for everyone on the request; verification is public.
    "documents.preview": ("/documents/{extract}/preview.pdf", expect({AP}, others=404)),
    "documents.download": ("/documents/{extract}/download", expect({RQ}, others=404)),
    "documents.letter": ("/documents/{letter}/letter.pdf", expect({RQ, AP, CO}, others=404)),
    "documents.secret_register": ("/documents/secret-register", expect({AP})),
    "documents.verify_form": ("/verify", expect(EVERYONE)),
    "documents.verify": ("/verify/{code}", expect(EVERYONE)),
    "documents.revocation_list": ("/pki/ca.crl", expect(EVERYONE)),
    # Errors in provided data (Art. 18 §2): reported by the extract's recipient, answered by
    # the clerks of the facility keeping the record.
    "error_reports.report": ("/documents/{extract}/report-error", expect({RQ}, others=404)),
    "error_reports.index": ("/error-reports/", expect({CL})),
    "error_reports.show": ("/error-reports/{error_report}", expect({CL})),
    # The exchange's conflict queue: records officers; one conflict, only those whose scope
    # holds its sender's (Hà Nội's camp).
    "conflicts.index": ("/exchange/conflicts/", expect({CL})),
    "conflicts.show": ("/exchange/conflicts/{conflict}", expect({CL}, others=404)),
    # Statistics of the body's own scope: managers only (figures, never a person's record).
    "statistics.index": ("/statistics/", expect({MA})),
    "statistics.export": ("/statistics/export.csv", expect({MA})),
    # Exact figures: whoever reads the records of a scope (the procuracy's requester keeps
    # none: 403 like everyone else).
    "statistics.exact": ("/statistics/exact", expect({AP, CL})),
    # Reports: a facility's clerks file them, managers of the bodies above check them.
    "reports.index": ("/reports/", expect({CL, MA})),
    "reports.new": ("/reports/new", expect({CL}, manager_hanoi=403)),
    "reports.show": ("/reports/{report}", expect({CL, MA}, others=403)),
    "reports.edit": ("/reports/{report}/edit", expect({CL}, status_ok=302, others=403)),
    "records.import_persons": ("/persons/import", expect({CL})),
    # An import's progress and report: its uploader's alone (tests/attacks/test_job_attacks.py).
    "records.import_job": ("/persons/import/{import_job}", expect({CL})),
    # The import's template: for those who may import (the XLSX one below).
    "records.import_template": ("/persons/import/template.csv", expect({CL})),
    # The kiosk: a facility's clerks manage it; the rest exists only on a kiosk device (404
    # elsewhere), for the person signed in there.
    "kiosk.devices": ("/kiosk/devices", expect({CL})),
    "kiosk.start": ("/kiosk/devices/{device}/start", expect(set(), others=405, anonymous=405)),
    "kiosk.end": ("/kiosk/devices/{device}/end", expect(set(), others=405, anonymous=405)),
    "kiosk.issue_pin": ("/persons/{person}/kiosk-pin", expect(set(), others=405,
                                                              anonymous=405)),
    "kiosk.sign_out": ("/kiosk/sign-out", expect(set(), others=405, anonymous=405)),
    "kiosk.sign_in": ("/kiosk/", expect(set(), others=404, anonymous=404, detainee_demo=302)),
    "kiosk.end_here": ("/kiosk/end", expect(set(), others=404, anonymous=404,
                                            detainee_demo=200)),
    "kiosk.home": ("/kiosk/me", expect(set(), detainee_demo=200)),
    "kiosk.my_record": ("/kiosk/record", expect(set(), detainee_demo=200)),
    "kiosk.my_reads": ("/kiosk/reads", expect(set(), detainee_demo=200)),
    # Who read a person's record: the body handling a case discloses the reads it withheld.
    "reads.handled_cases": ("/handled-cases", expect({CO})),
    "reads.disclose": ("/handled-cases/{handled_case}/disclose-reads", expect({CO})),
    "kiosk.new_request": ("/kiosk/requests/new", expect(set(), detainee_demo=200)),
    # Requesters outside the state (Art. 12 §3b): the clerks of bodies keeping the database
    # register them and record whom they act for; the requester sees their persons (below).
    "requesters.index": ("/requesters", expect({CL})),
    "requesters.new": ("/requesters/new", expect({CL})),
    "requesters.show": ("/requesters/{requester}", expect({CL})),
    "requesters.add_mandate": ("/requesters/{requester}/mandates",
                               expect(set(), others=405, anonymous=405)),
    "requesters.mandates": ("/mandates", expect({CL})),
    "requesters.end_mandate": ("/mandates/{mandate}/end", expect({CL})),
    "requesters.withdraw": ("/requesters/{requester}/withdraw", expect({CL})),
    "requesters.clients": ("/clients", expect({LW})),
    "requesters.client_reads": ("/clients/{mandate}/reads", expect({LW}, others=404)),
    "kiosk.request_status": ("/kiosk/requests/{request}", expect(set(), detainee_demo=404)),
}
# Endpoints with more than one URL: the others, held to the same table.
MORE_URLS = {
    "records.import_template": ["/persons/import/template.xlsx"],
}


def test_every_route_has_an_entry(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(MATRIX), "add the new route to MATRIX with its expected statuses"


def _client_as(app, role, objects=None):
    """A client signed in as the role; with `objects`, having stated what it opens Hà Nội's
    person's record for (asked once, before a record of one's scope is shown: who may not
    read it is refused there as on the record)."""
    client = app.test_client()
    if role != A:
        response = Auth(client).login(role)
        assert response.status_code == 302
        if objects is not None:
            Auth(client).purpose(objects["person"])
    return client


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_exactly_what_it_may(app, objects, role):
    client = _client_as(app, role, objects)
    got = {endpoint: client.get(url.format(**objects)).status_code
           for endpoint, (url, _table) in MATRIX.items()}
    wanted = {endpoint: table[role] for endpoint, (_url, table) in MATRIX.items()}
    assert got == wanted
    got = {url: client.get(url.format(**objects)).status_code
           for endpoint, urls in MORE_URLS.items() for url in urls}
    assert got == {url: MATRIX[endpoint][1][role]
                   for endpoint, urls in MORE_URLS.items() for url in urls}


WRITES = [
    ("/persons/new", {"full_name": "X Y Z", "birth_date": "1990-01-01", "sex": "male",
                      "nationality": "Việt Nam", "measure": "custody",
                      "start_date": "2026-11-01", "legal_basis": "QĐ 1"}),
    ("/persons/{person}/correct", {"full_name": "Đổi Tên", "birth_date": "1990-01-01",
                                   "sex": "male", "nationality": "Việt Nam", "version": "1",
                                   "reason": "thử quyền"}),
    ("/persons/{person}/identifiers/new", {"kind": "passport", "value": "C7654321",
                                           "issuing_country": "Lào"}),
    ("/episodes/{episode}/events/new", {"kind": "visit", "occurred_on": "2026-11-20"}),
    ("/cases/new", {"number": "1/X", "title": "t", "charges": "c", "opened_on": "2026-01-01",
                    "stage": "closed"}),
    ("/admin/users/new", {"username": "intruder", "full_name": "I", "roles": ["admin"],
                          "organisation_id": "1", "clearance": "tuyet_mat",
                          "password": "intruder-password"}),
    ("/admin/users/{user}", {"roles": ["admin"], "clearance": "tuyet_mat", "active": "y"}),
]


@pytest.mark.parametrize("role", [RQ, AP, CO, IN, DE, MA])
def test_roles_without_the_right_change_nothing(app, db, objects, role):
    client = _client_as(app, role)
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    for url, data in WRITES:
        response = client.post(url.format(**objects), data=data)
        assert response.status_code in (403, 404), url
    # Only the refusals themselves were written: one audit entry each, nothing else.
    after = db.scalar(select(func.count()).select_from(AuditEntry))
    assert after - before == len(WRITES)
    refused = db.execute(select(AuditEntry.action).order_by(AuditEntry.seq.desc())
                         .limit(len(WRITES))).scalars().all()
    assert set(refused) == {"access.refused"}
