"""The extract over the API: a requester's software follows, downloads and verifies it; the
releaser's acts (prepare, preview, release, revoke) have their routes, the very service calls of
the request's page, and are refused to every token with the reason (403, audited, nothing
changed): a token acts for a system account, and these are acts of an official who signs."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import func, select

from tests.helpers import db_state, system_token, version_of
from tests.worlds import FLOW, SETTINGS, World, ask, person_with_stage, prepare
from workflow.context import Actor
from workflow.documents import extracts
from workflow.documents.enums import Authority, IssuedState
from workflow.errors import Forbidden
from workflow.models import AccessRequest, AuditEntry, IssuedDocument, User
from workflow.records.enums import CaseStage
from workflow.requests import decisions
from workflow.requests.enums import RequestState
from workflow.requests.policy import official_refusal

FILER, OTHER = "system.vks", "system.vks.hcm"
REFUSAL = official_refusal(User(system=True)).message
SAID = "Tài khoản hệ thống (phần mềm dùng mã truy cập API) không lập, xem trước, phát hành"


def _approved(app) -> int:
    """The filer's software asks about a person under investigation; the police approves and
    the investigation agency consents (its letter issued in the system)."""
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request = ask(world, FILER, person_with_stage(world, CaseStage.INVESTIGATION))
        world.act(decisions.approve, world.actor("approver.hanoi"), request.id)
        world.act(decisions.grant_consent, FLOW, world.actor("consent.hanoi"), request.id)
        return request.id


def _actions_since(db, seq: int) -> list[tuple[str, str, str]]:
    return [tuple(row) for row in db.execute(
        select(AuditEntry.action, AuditEntry.actor_name, AuditEntry.outcome)
        .where(AuditEntry.seq > seq).order_by(AuditEntry.seq))]


def _last_seq(db) -> int:
    return db.scalar(select(func.max(AuditEntry.seq)))


def _refused_to_the_token(db, api, method: str, path: str, headers: dict, body=None,
                          status: int = 403) -> dict:
    """The call is refused with `status`, changes nothing and leaves one entry: the refusal,
    naming the token; 403s give the official-only reason, in the caller's language."""
    before, start = db_state(db), _last_seq(db)
    response = api.open(f"/api/v1{path}", method=method, json=body, headers=headers)
    assert response.status_code == status, (path, response.get_json())
    assert db_state(db) == before, path
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.seq > start)).all()
    details = json.loads(entry.details)
    assert (entry.action, entry.outcome, details["status"]) == ("access.refused", "denied",
                                                                  status), path
    assert "token" in details and "token_name" in details, path
    if status == 403:
        assert details["reason"] == REFUSAL and SAID in response.get_json()["error"], path
    return response.get_json()


def test_the_cycle_a_token_follows_and_the_acts_it_is_refused(app, client, auth, db):
    """Prepare, preview, release and revoke are the approver's on the page; the filer's token,
    asking for each over the API at the moment it would come, is refused with the reason and
    changes nothing; it downloads the released extract (the page's audit action) and verifies
    it before and after the revocation."""
    filer = system_token(app, FILER, "VKS-HANOI")
    request_id = _approved(app)
    api, page = app.test_client(), f"/requests/{request_id}"
    _refused_to_the_token(db, api, "POST", f"/requests/{request_id}/extract", filer,
                          {"version": version_of(db, request_id)})

    auth.login("approver.hanoi")
    start = _last_seq(db)
    assert client.post(page, data={"action": "prepare",
                                   "version": version_of(db, request_id)}).status_code == 302
    draft = db.scalars(select(IssuedDocument).where(
        IssuedDocument.request_id == request_id, IssuedDocument.state == IssuedState.PREPARED)
    ).one()
    assert draft.number is None and draft.code is None  # a draft: numbered at release
    # The draft is not the requester's to see, nor to release, even with the right hash.
    _refused_to_the_token(db, api, "GET", f"/documents/{draft.id}/preview", filer)
    listed = api.get(f"/api/v1/requests/{request_id}/documents", headers=filer).get_json()
    assert draft.id not in [d["id"] for d in listed]
    release = {"sha256": draft.sha256, "valid_days": 7, "download_limit": 2, "named": [],
               "version": version_of(db, request_id)}
    _refused_to_the_token(db, api, "POST", f"/requests/{request_id}/extract/{draft.id}/release",
                          filer, release)

    preview = client.get(f"/documents/{draft.id}/preview.pdf")
    assert hashlib.sha256(preview.data).hexdigest() == draft.sha256
    form = {"action": "release", "release-document_id": str(draft.id),
            "release-sha256": draft.sha256, "release-valid_days": "7",
            "release-download_limit": "2", "version": version_of(db, request_id),
            "confirmed": "yes"}
    assert client.post(page, data=form).status_code == 302
    db.expire_all()
    released = db.get(IssuedDocument, draft.id)
    assert released.state is IssuedState.RELEASED and released.number is not None

    listed = api.get(f"/api/v1/requests/{request_id}/documents", headers=filer).get_json()
    assert {"id": draft.id, "access": "download"}.items() <= next(
        d for d in listed if d["id"] == draft.id).items()
    got = api.get(f"/api/v1/documents/{draft.id}/download", headers=filer)
    assert got.status_code == 200 and got.headers["X-Document-SHA256"] == released.sha256
    assert hashlib.sha256(got.data).hexdigest() == released.sha256
    checked = api.get(f"/api/v1/verify/{released.code}", headers=filer).get_json()
    assert (checked["genuine"], checked["state"], checked["number"]) == (
        True, "released", released.number)
    revoke = {"reason": "Cung cấp nhầm người được đề nghị",
              "version": version_of(db, request_id)}
    _refused_to_the_token(db, api, "POST", f"/requests/{request_id}/extract/{draft.id}/revoke",
                          filer, revoke)

    assert client.post(page, data={
        "action": "revoke", "revoke-document_id": str(draft.id), "revoke-reason":
        revoke["reason"], "version": version_of(db, request_id), "confirmed": "yes",
    }).status_code == 302
    assert api.get(f"/api/v1/documents/{draft.id}/download", headers=filer).status_code == 410
    checked = api.get(f"/api/v1/verify/{released.code}", headers=filer).get_json()
    assert (checked["genuine"], checked["state"]) == (True, "revoked")
    # The acts are the official's, audited as the page audits them; the token's share is the
    # download (the page's action too), its uses and its refusals.
    acts = [(action, who) for action, who, outcome in _actions_since(db, start)
            if action.startswith(("extract.", "document.")) and outcome == "success"]
    approver = "approver.hanoi"
    assert acts == [("extract.prepare", approver), ("extract.preview", approver),
                    ("document.issue", approver), ("extract.release", approver),
                    ("extract.download", FILER), ("document.verify_code", FILER),
                    ("document.revoke", approver), ("document.verify_code", FILER)]
    assert db.get(AccessRequest, request_id).state is RequestState.RELEASED


def test_whatever_a_token_sends_the_release_is_refused_and_nothing_changes(app, db):
    """The right hash, a wrong one, no preview, no signing authority: the account is refused
    before the draft is read (403); a stale version is 409 and a malformed hash 422, as
    everywhere; another body's software gets 404 for what it cannot see, and the preview,
    named by a document alone, is refused to it as to every token."""
    filer = system_token(app, FILER, "VKS-HANOI")
    other = system_token(app, OTHER, "VKS-HOCHIMINH")
    request_id = _approved(app)
    with app.extensions["custody_sessions"]() as session:
        draft = prepare(World(session), request_id)
        draft_id, sha = draft.id, draft.sha256
    path = f"/requests/{request_id}/extract/{draft_id}/release"
    seen = version_of(db, request_id)
    for body in ({"sha256": sha}, {"sha256": "b" * 64}, {"sha256": sha.upper(), "named": ["x"]},
                 {"sha256": sha, "valid_days": 0, "download_limit": 10 ** 6}):
        _refused_to_the_token(db, app.test_client(), "POST", path, filer,
                              body | {"version": seen})
    stale = _refused_to_the_token(db, app.test_client(), "POST", path, filer,
                                  {"sha256": sha, "version": seen - 1}, status=409)
    assert "error" in stale
    malformed = app.test_client().post(f"/api/v1{path}", headers=filer,
                                       json={"sha256": "not a hash", "version": seen})
    assert malformed.status_code == 422 and "sha256" in malformed.get_json()["messages"]["json"]
    for method, where, body in [
            ("POST", f"/requests/{request_id}/extract", {"version": seen}),
            ("POST", path, {"sha256": sha, "version": seen}),
            ("POST", f"/requests/{request_id}/extract/{draft_id}/revoke",
             {"reason": "Cung cấp nhầm người được đề nghị", "version": seen})]:
        _refused_to_the_token(db, app.test_client(), method, where, other, body, status=404)
    _refused_to_the_token(db, app.test_client(), "GET", f"/documents/{draft_id}/preview", other)
    db.expire_all()
    draft = db.get(IssuedDocument, draft_id)
    assert (draft.state, draft.number, draft.sha256) == (IssuedState.PREPARED, None, sha)
    assert db.get(AccessRequest, request_id).state is RequestState.APPROVED


def test_a_system_account_never_signs_even_where_it_would_release(app, db):
    """A direct-access request of the Hà Nội police's own software: the requester would release
    its own extract, and an administrator has recorded a position and a signing authority on
    the account; still it prepares, previews, releases and revokes nothing, over the API and in
    the services alike, with the reason."""
    headers = system_token(app, "system.cahn", "CA-HANOI")
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        request = ask(world, "system.cahn", person_with_stage(world, None))
        assert request.state is RequestState.APPROVED and request.route["direct"]
        account = world.user("system.cahn")
        account.position, account.signs_as = "Phó Giám đốc", Authority.DEPUTY
        session.commit()
        request_id = request.id
    _refused_to_the_token(db, app.test_client(), "POST", f"/requests/{request_id}/extract",
                          headers, {"version": version_of(db, request_id)})
    with app.extensions["custody_sessions"]() as session:
        system = Actor(session.scalars(select(User).where(User.username == "system.cahn")).one())
        for act in (lambda: extracts.prepare_extract(session, SETTINGS, system, request_id),
                    lambda: extracts.preview(session, system, 1),
                    lambda: extracts.release_extract(session, FLOW, SETTINGS, system, request_id,
                                                     document_id=1, sha256="a" * 64),
                    lambda: extracts.revoke(session, system, request_id, 1,
                                            reason="Cung cấp nhầm người được đề nghị")):
            with pytest.raises(Forbidden) as refused:
                act()
            assert refused.value.message == REFUSAL
        session.rollback()
    assert db.scalar(select(func.count()).select_from(IssuedDocument).where(
        IssuedDocument.request_id == request_id)) == 0


def test_the_openapi_document_says_who_may_act_on_an_extract(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, method in [("/api/v1/requests/{request_id}/extract", "post"),
                         ("/api/v1/documents/{document_id}/preview", "get"),
                         ("/api/v1/requests/{request_id}/extract/{document_id}/release", "post"),
                         ("/api/v1/requests/{request_id}/extract/{document_id}/revoke", "post")]:
        refused = spec["paths"][path][method]["responses"]["403"]
        assert "never of a system account" in refused["description"], path
