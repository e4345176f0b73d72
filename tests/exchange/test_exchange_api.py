"""Exchange through the API and the command line: the Army installation exports, the centre
imports over HTTP with the exchange account's token; the same package twice changes nothing; a
tampered one is a 422 with nothing applied; other accounts get 403; feeds need an agreement."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
from sqlalchemy import func, or_, select

from tests.exchange.test_exchange import (
    ARMY,
    centre_template,  # noqa: F401 - the fixture
    centre_url,  # noqa: F401 - the fixture
)
from tests.helpers import system_token
from web import create_app
from workflow.context import SYSTEM
from workflow.enums import Role
from workflow.exchange.wire import canonical
from workflow.models import (
    AuditEntry,
    CustodyEpisode,
    ExchangeLink,
    ExchangePackage,
    FeedRun,
    Organisation,
    Person,
    RecordVersion,
)
from workflow.security.accounts import create_user


def _exchange_account(app, org_code: str, username: str) -> None:
    with app.extensions["custody_sessions"]() as session:
        org_id = session.scalar(select(Organisation.id).where(Organisation.code == org_code))
        create_user(session, SYSTEM, username=username, full_name="Trao đổi dữ liệu",
                    organisation_id=org_id, roles={Role.EXCHANGE}, password="một câu đủ dài",
                    system=True)
        session.commit()


def _token(app, username: str) -> dict:
    out = app.test_cli_runner().invoke(args=["create-token", "--username", username,
                                             "--name", "exchange"]).output.strip()
    return {"Authorization": f"Bearer {out}"}


@pytest.fixture
def centre(centre_url, tmp_path):  # noqa: F811
    app = create_app({"TESTING": True, "DATABASE_URL": centre_url, "SECRET_KEY": "centre",
                      "EXCHANGE_SIGNING_KEY": str(tmp_path / "centre.pem")})
    _exchange_account(app, "TTCSDL", "exchange.centre")
    yield app
    app.extensions["custody_engine"].dispose()


def _persons(app) -> int:
    with app.extensions["custody_sessions"]() as session:
        return session.scalar(select(func.count()).select_from(Person))


def test_export_and_import_over_the_api(app, centre, tmp_path, runner):
    app.config["EXCHANGE_SIGNING_KEY"] = str(tmp_path / "army.pem")
    _exchange_account(app, ARMY, "exchange.army")
    key = runner.invoke(args=["exchange", "key"]).output
    (tmp_path / "army.pub").write_text(key.split("\n", 1)[1])
    trusted = centre.test_cli_runner().invoke(args=["exchange", "trust", ARMY,
                                                    str(tmp_path / "army.pub")])
    assert trusted.exit_code == 0, trusted.output

    exported = app.test_client().post("/api/v1/exchange/packages/export",
                                      json={"source": ARMY},
                                      headers=_token(app, "exchange.army"))
    assert exported.status_code == 200, exported.get_json()
    package = exported.get_json()
    client, headers = centre.test_client(), _token(centre, "exchange.centre")
    first = client.post("/api/v1/exchange/packages", json=package, headers=headers)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["created"] > 0 and first.get_json()["conflicts"] == []
    persons = _persons(centre)
    again = client.post("/api/v1/exchange/packages", json=package, headers=headers)
    assert again.get_json()["already_imported"] is True and _persons(centre) == persons

    forged = json.loads(json.dumps(package))
    forged["sequence"] = 2
    refused = client.post("/api/v1/exchange/packages", json=forged, headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["error"].startswith("Chữ ký của gói dữ liệu không hợp lệ")
    with centre.extensions["custody_sessions"]() as session:
        assert session.scalar(select(func.count()).select_from(ExchangePackage)) == 1

    # Nobody but the exchange account: a requesting system's token is refused, and audited.
    denied = app.test_client().post("/api/v1/exchange/packages/export", json={"source": ARMY},
                                    headers=system_token(app))
    assert denied.status_code == 403


def test_the_command_line_round_trip(app, centre, runner, tmp_path):
    app.config["EXCHANGE_SIGNING_KEY"] = str(tmp_path / "army.pem")
    (tmp_path / "army.pub").write_text(runner.invoke(args=["exchange", "key"]).output
                                       .split("\n", 1)[1])
    centre_cli = centre.test_cli_runner()
    assert centre_cli.invoke(args=["exchange", "trust", ARMY,
                                   str(tmp_path / "army.pub")]).exit_code == 0
    _exchange_account(app, ARMY, "exchange.army")
    out = tmp_path / "package-1.json"
    made = runner.invoke(args=["exchange", "export", "--account", "exchange.army",
                               "--source", ARMY, "--out", str(out)])
    assert made.exit_code == 0 and "Package 1 of QP-QL" in made.output
    receive = ["exchange", "import", "--account", "exchange.centre", str(out)]
    applied = centre_cli.invoke(args=receive)
    assert applied.exit_code == 0 and "created" in applied.output, applied.output
    assert "nothing changed" in centre_cli.invoke(args=receive).output
    text = out.read_text("utf-8")
    out.write_text(text.replace('"full_name": "', '"full_name": "X', 1), "utf-8")
    tampered = centre_cli.invoke(args=receive)
    assert tampered.exit_code == 1 and "does not verify" in tampered.output


def test_a_feed_over_the_api_needs_an_agreement_in_force(app, runner, tmp_path):
    app.config["EXCHANGE_SIGNING_KEY"] = str(tmp_path / "army.pem")
    _exchange_account(app, "TTCSDL", "exchange.central")
    headers = _token(app, "exchange.central")
    made = runner.invoke(args=[
        "exchange", "agreement", "--partner", "CSDL phòng, chống tội phạm",
        "--fields", "full_name,birth_date", "--purpose", "Cung cấp theo Điều 13 Nghị định 121",
        "--approval", "QĐ 12/QĐ-BCA", "--from", "2026-01-01", "--to", "2099-12-31"])
    assert made.exit_code == 0, made.output
    feed = app.test_client().post("/api/v1/exchange/agreements/1/feed", headers=headers)
    assert feed.status_code == 200
    assert {tuple(sorted(p)) for p in feed.get_json()["persons"]} == {
        ("birth_date", "full_name", "ref")}
    old = runner.invoke(args=[
        "exchange", "agreement", "--partner", "Cũ", "--fields", "full_name",
        "--purpose", "Thỏa thuận đã hết hạn", "--approval", "QĐ 1", "--from", "2020-01-01",
        "--to", "2020-12-31"])
    assert old.exit_code == 0
    expired = app.test_client().post("/api/v1/exchange/agreements/2/feed", headers=headers)
    assert expired.status_code == 403
    assert app.test_client().post("/api/v1/exchange/agreements/99/feed",
                                  headers=headers).status_code == 404


def _count(app, model, *where) -> int:
    with app.extensions["custody_sessions"]() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _refusals(app) -> list[dict]:
    with app.extensions["custody_sessions"]() as session:
        return [{"object_id": e.object_id, **json.loads(e.details)} for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "access.refused")
            .order_by(AuditEntry.seq))]


def test_an_exchange_account_exports_only_its_own_body(app, tmp_path):
    app.config["EXCHANGE_SIGNING_KEY"] = str(tmp_path / "army.pem")
    _exchange_account(app, ARMY, "exchange.army")
    _exchange_account(app, "TTCSDL", "exchange.central")
    taken = app.test_client().post("/api/v1/exchange/packages/export",
                                   json={"source": "TTCSDL"},
                                   headers=_token(app, "exchange.army"))
    assert taken.status_code == 403
    assert "records" not in taken.get_json()
    assert _count(app, ExchangePackage) == 0
    assert _refusals(app)[-1] | {"reason": "-", "token": "-"} == {
        "object_id": "api.export_package", "status": 403, "reason": "-", "method": "POST",
        "token": "-", "token_name": "exchange"}
    # The owner's sequence did not move: its next package is the first, with everything.
    own = app.test_client().post("/api/v1/exchange/packages/export", json={"source": "TTCSDL"},
                                 headers=_token(app, "exchange.central"))
    assert own.status_code == 200
    assert own.get_json()["sequence"] == 1
    # Everything of the records the exchange carries: persons held, their episodes and the
    # rest (persons under residence restriction alone join the exchange later: issue 19).
    assert len(own.get_json()["records"]) == _count(
        app, RecordVersion, RecordVersion.record_type.not_in(["restriction", "restriction_event"]),
        or_(RecordVersion.person_id.is_(None),
            RecordVersion.person_id.in_(select(CustodyEpisode.person_id))))


def test_the_command_line_exports_as_a_named_exchange_account(app, runner, tmp_path):
    app.config["EXCHANGE_SIGNING_KEY"] = str(tmp_path / "army.pem")
    _exchange_account(app, ARMY, "exchange.army")
    out = tmp_path / "p.json"
    taken = runner.invoke(args=["exchange", "export", "--account", "exchange.army",
                                "--source", "TTCSDL", "--out", str(out)])
    assert taken.exit_code == 1 and not out.exists()
    assert _count(app, ExchangePackage) == 0
    assert _refusals(app)[-1]["object_id"] == "exchange export"
    unnamed = runner.invoke(args=["exchange", "export", "--out", str(out)])
    assert unnamed.exit_code == 2 and not out.exists()
    own = runner.invoke(args=["exchange", "export", "--account", "exchange.army",
                              "--out", str(out)])
    assert own.exit_code == 0 and "Package 1 of QP-QL" in own.output


def _army_package(app, runner, centre, tmp_path) -> dict:
    """Package 1 of the Army, signed with the key the centre trusts."""
    app.config["EXCHANGE_SIGNING_KEY"] = str(tmp_path / "army.pem")
    (tmp_path / "army.pub").write_text(runner.invoke(args=["exchange", "key"]).output
                                       .split("\n", 1)[1])
    assert centre.test_cli_runner().invoke(args=["exchange", "trust", ARMY,
                                                 str(tmp_path / "army.pub")]).exit_code == 0
    _exchange_account(app, ARMY, "exchange.army")
    made = app.test_client().post("/api/v1/exchange/packages/export", json={"source": ARMY},
                                  headers=_token(app, "exchange.army"))
    assert made.status_code == 200, made.get_json()
    return made.get_json()


def _signed_by_army(tmp_path, body: dict) -> dict:
    from workflow.audit.checkpoints import load_or_create_key
    from workflow.exchange import wire

    body = {k: v for k, v in body.items() if k != "signature"}
    return wire.sign(body, load_or_create_key(tmp_path / "army.pem"))


ROWS = (Person, CustodyEpisode, RecordVersion, ExchangeLink, ExchangePackage)


def test_a_trusted_key_writes_only_into_its_own_facilities(app, runner, centre, tmp_path):
    package = _army_package(app, runner, centre, tmp_path)
    forged = copy.deepcopy(package)
    episode = next(r for r in forged["records"] if r["type"] == "episode")
    episode["data"]["facility"] = "TTG-HANOI"
    forged = _signed_by_army(tmp_path, forged)
    before = {m: _count(centre, m) for m in ROWS}
    refused = centre.test_client().post("/api/v1/exchange/packages", json=forged,
                                        headers=_token(centre, "exchange.centre"))
    assert refused.status_code == 403, refused.get_json()
    assert {m: _count(centre, m) for m in ROWS} == before
    assert _count(centre, CustodyEpisode) == 0
    assert _refusals(centre)[-1]["object_id"] == "api.import_package"
    assert _refusals(centre)[-1]["status"] == 403
    # The sequence did not move: the genuine package 1 is still the one that comes next.
    applied = centre.test_client().post("/api/v1/exchange/packages", json=package,
                                        headers=_token(centre, "exchange.centre"))
    assert applied.status_code == 200 and applied.get_json()["sequence"] == 1


def test_an_import_into_a_body_outside_the_accounts_scope_is_refused(app, runner, centre,
                                                                      tmp_path):
    package = _army_package(app, runner, centre, tmp_path)
    _exchange_account(centre, "CA-HANOI", "exchange.hanoi")
    refused = centre.test_client().post("/api/v1/exchange/packages", json=package,
                                        headers=_token(centre, "exchange.hanoi"))
    assert refused.status_code == 403
    assert _count(centre, Person) == _count(centre, ExchangePackage) == 0


def test_only_the_keeper_of_the_whole_database_runs_a_feed(app, runner, tmp_path):
    app.config["EXCHANGE_SIGNING_KEY"] = str(tmp_path / "army.pem")
    _exchange_account(app, ARMY, "exchange.army")
    assert runner.invoke(args=[
        "exchange", "agreement", "--partner", "CSDL phòng, chống tội phạm",
        "--fields", "full_name", "--purpose", "Cung cấp theo Điều 13 Nghị định 121",
        "--approval", "QĐ 12/QĐ-BCA", "--from", "2026-01-01", "--to", "2099-12-31"]
                         ).exit_code == 0
    refused = app.test_client().post("/api/v1/exchange/agreements/1/feed",
                                     headers=_token(app, "exchange.army"))
    assert refused.status_code == 403 and "persons" not in refused.get_json()
    assert _count(app, FeedRun) == 0


def _trust_each_other(app, runner, centre, tmp_path) -> None:
    """Each installation trusts the other's exchange key: the Army's packages at the centre, the
    centre's receipts at the Army."""
    app.config["EXCHANGE_SIGNING_KEY"] = str(tmp_path / "army.pem")
    for cli, name in ((runner, "army"), (centre.test_cli_runner(), "centre")):
        (tmp_path / f"{name}.pub").write_text(cli.invoke(args=["exchange", "key"]).output
                                              .split("\n", 1)[1])
    assert centre.test_cli_runner().invoke(args=["exchange", "trust", ARMY,
                                                 str(tmp_path / "army.pub")]).exit_code == 0
    assert runner.invoke(args=["exchange", "trust", "TTCSDL",
                               str(tmp_path / "centre.pub")]).exit_code == 0
    _exchange_account(app, ARMY, "exchange.army")


def test_receipts_and_packages_made_again_over_the_api(app, centre, runner, tmp_path):
    _trust_each_other(app, runner, centre, tmp_path)
    army, headers = app.test_client(), _token(app, "exchange.army")
    package = army.post("/api/v1/exchange/packages/export", json={"source": ARMY},
                        headers=headers).get_json()
    again = army.post("/api/v1/exchange/packages/export", json={"source": ARMY, "again": 1},
                      headers=headers)
    assert again.status_code == 200
    assert {k: v for k, v in again.get_json().items() if k != "signature"} == {
        k: v for k, v in package.items() if k != "signature"}
    applied = centre.test_client().post("/api/v1/exchange/packages", json=again.get_json(),
                                        headers=_token(centre, "exchange.centre")).get_json()
    receipt = applied["receipt"]
    assert (receipt["outcome"], receipt["sequence"], receipt["receiver"]) == (
        "applied", 1, "TTCSDL")
    kept = army.post("/api/v1/exchange/receipts", json=receipt, headers=headers)
    assert kept.status_code == 200, kept.get_json()
    assert kept.get_json() | {"signed_at": "-"} == {
        "receiver": "TTCSDL", "outcome": "applied", "same_content": True, "conflicts": 0,
        "signed_at": "-"}
    forged = receipt | {"outcome": "refused"}
    assert army.post("/api/v1/exchange/receipts", json=forged,
                     headers=headers).status_code == 422
    sent = army.get(f"/api/v1/exchange/packages/sent?source={ARMY}", headers=headers)
    assert [(p["sequence"], p["acknowledged"]) for p in sent.get_json()] == [(1, True)]
    assert app.test_client().get(f"/api/v1/exchange/packages/sent?source={ARMY}",
                                 headers=system_token(app)).status_code == 403


def _renamed(package: dict, _export, _keys) -> dict:
    """Changed on the way: its signature no longer verifies."""
    changed = copy.deepcopy(package)
    next(r for r in changed["records"] if r["type"] == "person")["data"]["full_name"] += "X"
    return changed


def _next_before_this(_package: dict, export, _keys) -> dict:
    """Package 2, sent before package 1 arrived."""
    return export()


def _outside_its_facilities(package: dict, _export, keys) -> dict:
    """Genuinely signed, but holding an episode at a facility the Army does not manage."""
    changed = copy.deepcopy(package)
    next(r for r in changed["records"] if r["type"] == "episode")["data"]["facility"] = (
        "TTG-HANOI")
    return _signed_by_army(keys, changed)


@pytest.mark.parametrize("sent, status, reason", [
    (_renamed, 422, "does not verify"),
    (_next_before_this, 409, "comes next"),
    (_outside_its_facilities, 403, "outside the scope"),
], ids=["tampered", "out-of-order", "outside-scope"])
def test_a_refused_package_is_answered_with_the_receivers_signed_refusal(
        app, centre, runner, tmp_path, sent, status, reason):
    _trust_each_other(app, runner, centre, tmp_path)
    army, headers = app.test_client(), _token(app, "exchange.army")

    def export() -> dict:
        return army.post("/api/v1/exchange/packages/export", json={"source": ARMY},
                         headers=headers).get_json()

    arrived = sent(export(), export, tmp_path)
    refused = centre.test_client().post("/api/v1/exchange/packages", json=arrived,
                                        headers=_token(centre, "exchange.centre"))
    assert refused.status_code == status, refused.get_json()
    receipt = refused.get_json()["receipt"]
    assert (receipt["outcome"], receipt["receiver"], receipt["sequence"]) == (
        "refused", "TTCSDL", arrived["sequence"])
    assert reason in receipt["reason"] and receipt["conflicts"] == []
    assert receipt["sha256"] == hashlib.sha256(canonical(
        {k: v for k, v in arrived.items() if k != "signature"})).hexdigest()
    # The Army keeps it only once its signature verifies with the centre's trusted key.
    kept = army.post("/api/v1/exchange/receipts", json=receipt, headers=headers)
    assert kept.status_code == 200, kept.get_json()
    assert (kept.get_json()["outcome"], kept.get_json()["same_content"]) == (
        "refused", sent is _next_before_this)
    assert army.post("/api/v1/exchange/receipts", json=receipt | {"reason": "-"},
                     headers=headers).status_code == 422


def test_no_receipt_is_signed_for_an_account_that_receives_no_packages(app, centre, runner,
                                                                        tmp_path):
    package = _army_package(app, runner, centre, tmp_path)
    refused = centre.test_client().post("/api/v1/exchange/packages", json=package,
                                        headers=system_token(centre))
    assert refused.status_code == 403 and "receipt" not in refused.get_json()


def test_receipts_on_the_command_line(app, centre, runner, tmp_path):
    _trust_each_other(app, runner, centre, tmp_path)
    out, receipt = tmp_path / "package-1.json", tmp_path / "receipt-1.json"
    assert runner.invoke(args=["exchange", "export", "--account", "exchange.army",
                               "--out", str(out)]).exit_code == 0
    centre_cli = centre.test_cli_runner()
    text = out.read_text("utf-8")
    out.write_text(text.replace('"full_name": "', '"full_name": "X', 1), "utf-8")
    receive = ["exchange", "import", "--account", "exchange.centre", str(out),
               "--receipt", str(receipt)]
    assert centre_cli.invoke(args=receive).exit_code == 1
    assert json.loads(receipt.read_text("utf-8"))["outcome"] == "refused"
    recorded = runner.invoke(args=["exchange", "receipt", "--account", "exchange.army",
                                   str(receipt)])
    assert recorded.exit_code == 0, recorded.output
    assert "refused by TTCSDL, 0 conflicts, NOT the content sent" in recorded.output
    out.write_text(text, "utf-8")
    assert centre_cli.invoke(args=receive).exit_code == 0
    assert runner.invoke(args=["exchange", "receipt", "--account", "exchange.army",
                               str(receipt)]).exit_code == 0
    shown = runner.invoke(args=["exchange", "sent", "--account", "exchange.army"])
    assert shown.exit_code == 0
    assert "refused by TTCSDL" in shown.output and "applied by TTCSDL" in shown.output


def _tampered(package: dict, _keys) -> str:
    return json.dumps(package).replace('"full_name": "', '"full_name": "X', 1)


def _second_first(package: dict, keys) -> str:
    """Package 2, genuinely signed, before package 1 arrived."""
    return json.dumps(_signed_by_army(keys, {**package, "sequence": 2}))


@pytest.mark.parametrize("account, content, status, reason", [
    ("exchange.centre", _tampered, 422, "does not verify"),
    ("exchange.centre", _second_first, 409, "comes next"),
    ("exchange.centre", lambda p, _keys: "{not json", 422, "not an exchange package"),
    ("exchange.nobody", lambda p, _keys: json.dumps(p), 404, "No account is named"),
], ids=["tampered", "out-of-order", "not-json", "unknown-account"])
def test_a_refused_import_on_the_command_line_is_audited_as_over_the_api(
        app, runner, centre, tmp_path, account, content, status, reason):
    package = _army_package(app, runner, centre, tmp_path)
    path = tmp_path / "package.json"
    path.write_text(content(package, tmp_path), "utf-8")
    before = {m: _count(centre, m) for m in ROWS}
    refused = centre.test_cli_runner().invoke(args=["exchange", "import", "--account", account,
                                                    str(path)])
    assert refused.exit_code == 1 and reason in refused.output, refused.output
    assert {m: _count(centre, m) for m in ROWS} == before
    entry = _refusals(centre)[-1]
    assert (entry["object_id"], entry["status"]) == ("exchange import", status)
    assert reason in entry["reason"]
