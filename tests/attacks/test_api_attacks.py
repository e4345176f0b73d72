"""The attack suite of the API and the command line (tests/attacks/test_attacks.py does the pages).

Every API route (from the URL map: a new one without an entry fails) × every caller who must not
succeed: a system account of another province, the exchange account on the request routes, a
requester's account on the exchange routes and on the decisions, and tokens that must not act at
all (revoked, expired, of a locked or of a disabled account, none, malformed). Each call is
refused (401/403/404), changes nothing in the database, and leaves exactly one audit entry: the
refused token (`api.token`, failure, naming the token when it exists) or the refused act
(`access.refused`, naming the token that asked). Then the exchange commands and `create-token`
as the wrong account."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from tests.helpers import db_state, system_token, version_of
from tests.worlds import World, ask, person_with_stage
from workflow.context import SYSTEM
from workflow.exchange import feeds
from workflow.models import ApiToken, AuditEntry, User
from workflow.records.enums import CaseStage
from workflow.webhooks import registry

FILER, OTHER, EXCHANGE = "system.vks", "system.vks.hcm", "exchange.centre"
ACCOUNTS = {FILER: ("VKS-HANOI", "requester"), OTHER: ("VKS-HOCHIMINH", "requester"),
            EXCHANGE: ("TTCSDL", "exchange")}
# Tokens that must not act: of the account that would otherwise succeed (the filer on the
# request routes, the exchange account on the exchange routes).
REVOKED, EXPIRED, LOCKED, DISABLED, NONE, MALFORMED = (
    "revoked", "expired", "locked", "disabled", "none", "malformed")
DEAD = {REVOKED: "revoked", EXPIRED: "expired", LOCKED: "account locked",
        DISABLED: "account disabled", NONE: "missing", MALFORMED: "unknown"}
ATTACKERS = [OTHER, EXCHANGE, FILER, *DEAD]

DECISION = {OTHER: 404, EXCHANGE: 404, FILER: 403}  # the filer sees its request, decides none
ON_REQUEST = {OTHER: 404, EXCHANGE: 404}  # the filer's own: not an attack
# The exchange account's own: tests/exchange/test_exchange_api.py.
TO_EXCHANGE = {OTHER: 403, FILER: 403}
FILING = {EXCHANGE: 403}  # any requester files and previews its own requests
PACKAGE = {"format": "custody-exchange/1", "source": "TTCSDL", "sequence": 1,
           "created_at": "2026-11-25T00:00:00+00:00", "marks": {}, "records": [],
           "stages": [], "signature": {"key_id": "x", "value": "00"}}
ASK = {"format": "custody-ask/1", "receiver": "QP-QL", "source": "TTCSDL",
       "records": [{"type": "person", "id": 1}], "signed_at": "2026-11-25T00:00:00+00:00",
       "signature": {"key_id": "x", "value": "00"}}
RECEIPT = {"format": "custody-receipt/1", "receiver": "QP-QL", "source": "TTCSDL", "sequence": 1,
           "sha256": "0" * 64, "outcome": "applied", "conflicts": [],
           "signed_at": "2026-11-25T00:00:00+00:00",
           "signature": {"key_id": "x", "value": "00"}}
NEW_REQUEST = {"channel": "network", "subject_kind": "person", "provision": "pdf",
               "purpose": "Phục vụ kiểm sát việc tạm giam theo quy định",
               "legal_basis": "Điều 12 Nghị định 121/2017/NĐ-CP", "categories": ["a_orders"],
               "urgency": "normal", "identity_number": "{number}"}

# (method, endpoint) → (path, body, status per attacker: those not named are not attacking).
# Every dead token gets 401 on every route.
ROUTES = {
    ("GET", "api.Requests"): ("/requests", None, FILING),
    ("POST", "api.Requests"): ("/requests", NEW_REQUEST, FILING),
    ("POST", "api.preview"): ("/requests/preview", NEW_REQUEST, FILING),
    ("GET", "api.get_request"): ("/requests/{id}", None, ON_REQUEST),
    ("GET", "api.timeline"): ("/requests/{id}/timeline", None, ON_REQUEST),
    ("POST", "api.submit"): ("/requests/{id}/submit", None, ON_REQUEST),
    ("POST", "api.withdraw"): ("/requests/{id}/withdraw", {}, ON_REQUEST),
    ("POST", "api.approve"): ("/requests/{id}/approve", {}, DECISION),
    ("POST", "api.refuse"): ("/requests/{id}/refuse", {"reason_code": "purpose"}, DECISION),
    ("POST", "api.grant_consent"): ("/requests/{id}/consent", {"letter_ref": "CV 1"},
                                    DECISION),
    ("POST", "api.refuse_consent"): ("/requests/{id}/refuse-consent",
                                     {"reason_code": "harms_case"}, DECISION),
    ("POST", "api.return_for_supplement"): ("/requests/{id}/return",
                                            {"reason": "Bổ sung văn bản đề nghị"}, DECISION),
    ("POST", "api.extend"): ("/requests/{id}/extend",
                             {"reason": "Cần xác minh thêm với trại tạm giam"}, DECISION),
    ("POST", "api.export_package"): ("/exchange/packages/export", {"source": "TTCSDL"},
                                     TO_EXCHANGE),
    ("POST", "api.import_package"): ("/exchange/packages", PACKAGE, TO_EXCHANGE),
    ("POST", "api.run_feed"): ("/exchange/agreements/{agreement}/feed", None, TO_EXCHANGE),
    ("GET", "api.sent_packages"): ("/exchange/packages/sent?source=TTCSDL", None, TO_EXCHANGE),
    ("POST", "api.record_receipt"): ("/exchange/receipts", RECEIPT, TO_EXCHANGE),
    ("POST", "api.make_ask"): ("/exchange/asks/make", {"source": "TTCSDL"}, TO_EXCHANGE),
    ("POST", "api.record_ask"): ("/exchange/asks", ASK, TO_EXCHANGE),
    ("GET", "api.documents"): ("/requests/{id}/documents", None, ON_REQUEST),
    # Documents and codes by their own numbers: tests/web/test_api.py; here dead tokens only.
    ("GET", "api.download"): ("/documents/{id}/download", None, {}),
    ("GET", "api.letter"): ("/documents/{id}/letter", None, {}),
    ("GET", "api.verify"): ("/verify/AAAA-BBBB-CCCC-DDDD", None, {}),
    # The releaser's acts: refused to every token (the filer's own: tests/documents/
    # test_extracts_api.py); the preview before its document is read.
    ("POST", "api.prepare_extract"): ("/requests/{id}/extract", {}, DECISION),
    ("GET", "api.preview_extract"): ("/documents/1/preview", None,
                                     {OTHER: 403, EXCHANGE: 403, FILER: 403}),
    ("POST", "api.release_extract"): ("/requests/{id}/extract/1/release", {"sha256": "a" * 64},
                                      DECISION),
    ("POST", "api.revoke_extract"): ("/requests/{id}/extract/1/revoke",
                                     {"reason": "Cung cấp nhầm người"}, DECISION),
    # An extract read as data (its recipients' own: tests/web/test_api_integration.py).
    ("GET", "api.extract_contents"): ("/documents/{id}/contents", None, ON_REQUEST),
    # The filer body's webhook: another body's software finds none, the exchange account may
    # not have any.
    ("GET", "api.webhooks"): ("/webhooks", None, {EXCHANGE: 403}),
    ("POST", "api.register_webhook"): ("/webhooks", {"url": "https://hooks.example.vn/c"},
                                       {EXCHANGE: 403}),
    ("POST", "api.disable_webhook"): ("/webhooks/{hook}/disable", None,
                                      {OTHER: 404, EXCHANGE: 403}),
    ("GET", "api.webhook_deliveries"): ("/webhooks/{hook}/deliveries", None,
                                        {OTHER: 404, EXCHANGE: 403}),
}


def test_every_api_route_is_attacked(app):
    routes = {(method, rule.endpoint) for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("api.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == set(ROUTES), "add the new API route to ROUTES"


def _world(app, db) -> dict:
    """The filer's request about a Hà Nội detainee (awaiting the police's approval and the
    investigation agency's consent), an agreement in force, and every account's token."""
    headers = {name: system_token(app, name, *ACCOUNTS[name]) for name in ACCOUNTS}
    with app.extensions["custody_sessions"]() as session:
        world = World(session)
        subject = person_with_stage(world, CaseStage.INVESTIGATION)
        request_id = ask(world, FILER, subject).id
        agreement = world.act(feeds.create_agreement, SYSTEM, partner="CSDL khác",
                              fields=["full_name"], purpose="Cung cấp theo Điều 13 Nghị định",
                              approval_ref="QĐ 1", valid_from=dt.date(2026, 1, 1),
                              valid_to=dt.date(2099, 12, 31))
        number = subject.identifiers[-1].value
        hook = world.act(registry.register, world.actor(FILER),
                         world.user(FILER).organisation_id, "https://hooks.vks.example.vn/c")
    return {"headers": headers, "id": request_id, "agreement": agreement.id, "number": number,
            "hook": hook.id}


def _kill_tokens(db, how: str) -> None:
    """Make the filer's and the exchange account's tokens dead in the way named."""
    now = dt.datetime.now(dt.UTC)
    users = db.scalars(select(User).where(User.username.in_([FILER, EXCHANGE]))).all()
    for user in users:
        if how == LOCKED:
            user.locked_at = now
        elif how == DISABLED:
            user.active = False
    for row in db.scalars(select(ApiToken).where(ApiToken.user_id.in_([u.id for u in users]))):
        if how == REVOKED:
            row.revoked_at = now
        elif how == EXPIRED:
            row.expires_at = now - dt.timedelta(seconds=1)
    db.commit()


def _headers(world: dict, attacker: str, path: str) -> dict:
    if attacker == NONE:
        return {}
    if attacker == MALFORMED:
        return {"Authorization": "Bearer cst_' OR '1'='1"}
    owner = EXCHANGE if path.startswith("/exchange") else FILER
    return world["headers"][attacker if attacker in ACCOUNTS else owner]


def _token_of(db, username: str) -> ApiToken:
    return db.scalars(select(ApiToken).join(User).where(User.username == username)).one()


@pytest.mark.parametrize("attacker", ATTACKERS)
def test_no_caller_gets_through_the_api(app, db, attacker):
    world = _world(app, db)
    if attacker in DEAD and attacker not in (NONE, MALFORMED):
        _kill_tokens(db, attacker)
    client = app.test_client()
    attacked = 0
    for (method, endpoint), (path, body, statuses) in ROUTES.items():
        expected = 401 if attacker in DEAD else statuses.get(attacker)
        if expected is None:
            continue
        if body is not None:
            body = json.loads(json.dumps(body).replace("{number}", world["number"]))
        if isinstance(body, dict) and path.startswith("/requests/{id}/"):
            body = {**body, "version": version_of(db, world["id"])}
        before = db_state(db)
        start = db.scalar(select(func.max(AuditEntry.seq)))
        response = client.open("/api/v1" + path.format(**world), method=method, json=body,
                               headers=_headers(world, attacker, path))
        assert response.status_code == expected, (endpoint, method, response.get_json())
        assert db_state(db) == before, endpoint
        written = db.scalars(select(AuditEntry).where(AuditEntry.seq > start)).all()
        assert len(written) == 1, (endpoint, [e.action for e in written])
        [entry] = written
        details = json.loads(entry.details)
        if expected == 401:
            assert (entry.action, entry.outcome) == ("api.token", "failure"), endpoint
            assert details["reason"] == DEAD[attacker], endpoint
            if attacker not in (NONE, MALFORMED):
                owner = EXCHANGE if path.startswith("/exchange") else FILER
                token = _token_of(db, owner)
                assert entry.actor_name == owner and entry.object_id == str(token.id)
                assert details["name"] == token.name
        else:
            assert (entry.action, entry.outcome) == ("access.refused", "denied"), endpoint
            assert entry.object_id == endpoint and entry.actor_name == attacker
            assert details["status"] == expected
            token = _token_of(db, attacker)
            assert (details["token"], details["token_name"]) == (token.id, token.name), endpoint
        attacked += 1
    assert attacked >= 4


# --- the command line ----------------------------------------------------------------------
# The exchange commands act as the account named by --account (the rightful ones, and another
# body's export: tests/exchange/test_exchange_api.py). Here every one of them as an account
# that must not: a person's account, another body's exchange account, the keeper's exchange
# accounts once locked or disabled, and no such account; and `create-token` for accounts that
# get no token.
HANOI_EXCHANGE, ARMY_EXCHANGE = "exchange.hanoi", "exchange.army"
LOCKED_EXCHANGE, DISABLED_EXCHANGE = "exchange.locked", "exchange.disabled"
LOCKED_SYSTEM, DISABLED_SYSTEM = "system.locked", "system.disabled"
COMMANDS = {
    "export": ["exchange", "export", "--source", "TTCSDL", "--out", "{out}"],
    "import": ["exchange", "import", "{package}"],
    "feed": ["exchange", "feed", "{agreement}", "--out", "{out}"],
}
WRONG_ACCOUNTS = ["requester.vks", HANOI_EXCHANGE, LOCKED_EXCHANGE, DISABLED_EXCHANGE,
                  "nobody"]
NO_TOKEN = ["requester.vks", "exchange.locked", LOCKED_SYSTEM, DISABLED_SYSTEM, "nobody"]


def _cli_world(app, db, runner, tmp_path) -> dict:
    """Exchange accounts of the keeper (two of them then locked and disabled), of the Hà Nội
    police and of the Army; the Army's first package, signed with a key this installation
    trusts; an agreement in force."""
    from workflow.enums import Role
    from workflow.models import ExchangeAgreement, Organisation
    from workflow.security import accounts

    app.config["EXCHANGE_SIGNING_KEY"] = str(tmp_path / "exchange.pem")
    with app.extensions["custody_sessions"]() as session:
        for username, code, role in [
                (EXCHANGE, "TTCSDL", Role.EXCHANGE), (LOCKED_EXCHANGE, "TTCSDL", Role.EXCHANGE),
                (DISABLED_EXCHANGE, "TTCSDL", Role.EXCHANGE),
                (HANOI_EXCHANGE, "CA-HANOI", Role.EXCHANGE),
                (ARMY_EXCHANGE, "QP-QL", Role.EXCHANGE),
                (LOCKED_SYSTEM, "VKS-HANOI", Role.REQUESTER),
                (DISABLED_SYSTEM, "VKS-HANOI", Role.REQUESTER)]:
            accounts.create_user(
                session, SYSTEM, username=username, full_name=username, roles={role},
                organisation_id=session.scalar(select(Organisation.id).where(
                    Organisation.code == code)), password="một cụm từ đủ dài", system=True)
        session.commit()
    (tmp_path / "key.pub").write_text(runner.invoke(args=["exchange", "key"]).output
                                      .split("\n", 1)[1])
    assert runner.invoke(args=["exchange", "trust", "QP-QL", str(tmp_path / "key.pub")]
                         ).exit_code == 0
    package = tmp_path / "package.json"
    made = runner.invoke(args=["exchange", "export", "--account", ARMY_EXCHANGE,
                               "--out", str(package)])
    assert made.exit_code == 0, made.output
    with app.extensions["custody_sessions"]() as session:
        agreement = feeds.create_agreement(
            session, SYSTEM, partner="CSDL khác", fields=["full_name"],
            purpose="Cung cấp theo Điều 13 Nghị định", approval_ref="QĐ 1",
            valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2099, 12, 31))
        session.commit()
        assert session.get(ExchangeAgreement, agreement.id).in_force(dt.date.today())
        agreement_id = agreement.id
    now = dt.datetime.now(dt.UTC)
    for username, change in [(LOCKED_EXCHANGE, {"locked_at": now}),
                             (DISABLED_EXCHANGE, {"active": False}),
                             (LOCKED_SYSTEM, {"locked_at": now}),
                             (DISABLED_SYSTEM, {"active": False})]:
        user = db.scalars(select(User).where(User.username == username)).one()
        for key, value in change.items():
            setattr(user, key, value)
    db.commit()
    return {"package": str(package), "agreement": str(agreement_id),
            "out": str(tmp_path / "out.json")}


def test_no_wrong_account_gets_through_the_command_line(app, db, runner, tmp_path):
    world = _cli_world(app, db, runner, tmp_path)
    cases = [(name, [*COMMANDS[name], "--account", account], account)
             for name in COMMANDS for account in WRONG_ACCOUNTS]
    cases += [("create-token", ["create-token", "--username", account, "--name", "x"], account)
              for account in NO_TOKEN]
    for name, args, account in cases:
        before = db_state(db)
        start = db.scalar(select(func.max(AuditEntry.seq)))
        result = runner.invoke(args=[arg.format(**world) for arg in args])
        assert result.exit_code == 1, (name, account, result.output)
        assert not (tmp_path / "out.json").exists(), (name, account)
        assert db_state(db) == before, (name, account)
        written = db.scalars(select(AuditEntry).where(AuditEntry.seq > start)).all()
        if name in COMMANDS and account != "nobody":
            # The refusal of an exchange command, naming the account it was run as.
            assert [(e.action, e.actor_name, e.object_id) for e in written] == [
                ("access.refused", account, f"exchange {name}")], (name, account)
        elif name == "create-token" and account != "nobody":
            # The installation's own command refused by the domain: audited the same way.
            assert [(e.action, e.object_id) for e in written] == [
                ("access.refused", "create-token")], (name, account)
        elif name in COMMANDS:  # no such account: refused and audited all the same
            assert [(e.action, e.object_id) for e in written] == [
                ("access.refused", f"exchange {name}")], (name, account)
        else:  # no account to name: nothing happened
            assert written == [], (name, account, [e.action for e in written])
