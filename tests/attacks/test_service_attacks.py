"""The attack suite of the domain itself: every public operation of `workflow` that takes an
`actor` (found by introspection: a new one without an entry here fails), called directly on Hà
Nội's objects by an actor who must not succeed, raises the domain's refusal (Forbidden or
NotFound) and changes nothing, even when the caller commits afterwards. The account that may do
it passes the gate (the control: otherwise the attack proves nothing), and is refused as well
once its account is locked or disabled ("a disabled or locked account passes no gate")."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import pkgutil

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

import workflow
from tests.helpers import db_state, org, system_token
from tests.worlds import FLOW, NOW, SETTINGS
from workflow.audit import tracker, trail
from workflow.context import SYSTEM, Actor
from workflow.documents import extracts, letters, reading, secrets
from workflow.enums import Role, Secrecy
from workflow.errors import DomainError, Forbidden, NotFound
from workflow.exchange import conflicts, feeds, incoming, matches, outgoing, trust
from workflow.figures import dashboard, disclosure, reports
from workflow.figures.enums import ReportKind
from workflow.models import (
    AccessRequest,
    ApiToken,
    IssuedDocument,
    Job,
    Person,
    PersonMatch,
    RestrictionEpisode,
    User,
)
from workflow.records import (
    bulk_import,
    cases,
    checks,
    corrections,
    episodes,
    error_reports,
    persons,
    search,
)
from workflow.records.enums import CaseStage, DocumentCategory, EventKind, IdentifierKind, Measure
from workflow.records.reading import ReadPurpose
from workflow.requests import (
    calendar,
    deadlines,
    decisions,
    filing,
    kernel,
    queries,
    queues,
    requesters,
)
from workflow.requests.enums import (
    CalendarChange,
    Channel,
    MandateGround,
    ProvisionForm,
    RequesterKind,
    SubjectKind,
)
from workflow.requests.filing import RequestInput
from workflow.requests.rules import Rulebook
from workflow.restriction import operations
from workflow.restriction.enums import EndReason, RestrictionEventKind, RestrictionState
from workflow.security import accounts, kiosk, mfa, tokens
from workflow.webhooks import registry

REFUSED = (Forbidden, NotFound)
PROVINCE, CLERK, APPROVER, CONSENT, REQUESTER, MANAGER, ADMIN, INSPECTOR = (
    "clerk.hcm", "clerk.hanoi", "approver.hanoi", "consent.hanoi", "requester.vks",
    "manager.hanoi", "admin", "inspector")
CENTRE, HANOI_EXCHANGE = "exchange.centre", "exchange.hanoi"
CENTRE_CLERK = "clerk.centre"  # a records officer of the body that keeps the whole database
SOFTWARE = "system.vks"  # the procuracy's own software (a system account that files)
DETAINEE = "detainee.demo"  # a detained person's kiosk account
LAWYER = "lawyer.demo"  # a defence lawyer outside the state, acting for the kiosk's person
INSTALLATION = None  # the server's command line: no account, so none to lock
# Residence restriction: the demo's clerk of the commune managing its persons under it, and
# that of the commune its moved person is handed over to.
COMMUNE, RECEIVING = "clerk.commune", "clerk.hoankiem"

# Operations that take an actor but have nothing to refuse it, and why.
EXEMPT = {
    # Applying a conflict's record again is a step of conflicts.decide, whose gate (attacked
    # below) comes first; nothing else calls it.
    "exchange.incoming.apply_again",
    # The actor's own credentials, second factor, sessions and notifications: the password or
    # the code is the check (tests/security/test_auth.py, test_mfa.py); there is no one else's
    # to reach.
    "security.accounts.authenticate", "security.accounts.confirm_password",
    "security.accounts.change_password",
    "security.accounts.count_failure", "security.mfa.enrol", "security.mfa.verify",
    "security.sessions.begin", "security.sessions.check",
    "security.kiosk.sign_in", "security.kiosk.check_session",
    "security.sessions.end", "security.sessions.is_fresh", "security.sessions.refresh",
    "requests.inbox.inbox", "requests.inbox.mark_read", "notifications.outbox.set_preferences",
    # Helpers other operations call after their own gate: ending an account's sessions (the
    # lockout, an administrator's change), a record's version, the audit entry and a token's use,
    # the written notices a decision calls for (idempotent: only those it lacks).
    "security.sessions.end_all", "records.versions.write_version", "audit.chain.record",
    # An account made once the caller decided the actor may (`create_user`, attacked through
    # the administrators' pages; a clerk's `register_requester`, in S).
    "security.accounts.add_account",
    "security.tokens.record_use",
    "documents.letters.issue_letters",
    # The steps the operations of a package share, called inside an operation after its gate
    # (the checks among them are the gates of those operations, attacked through them): the
    # request kernel's move, the timeline and notes, a document's issue, a new episode, a case
    # linked or checked, a person's or episode's scope checked, a date against the actor's day.
    "requests.kernel.move", "requests.kernel.record_transition", "requests.kernel.system_note",
    "requests.kernel.route_now",
    "requests.decisions.void_open_steps", "documents.issuing.issue_document",
    "documents.issuing.issue_draft",
    "records.episodes.new_episode", "records.cases.linkable_case", "records.cases.check_case",
    "records.cases.check_relink", "records.checks.visible_person",
    "records.checks.writable_episode", "records.checks.past_date",
    "records.persons.new_person",
    # A question about the actor's own reading (has this releaser opened this preview?), asked
    # by the release after its gate; it reads one's own audit entries and changes nothing.
    "documents.extracts.previewed_by",
    # Which of the actor's own credentials signs a document the operation already decided to
    # issue: only the acting official's own token, opened by the PIN they typed; asked after the
    # operation's gate and changing nothing (tests/documents/test_personal_signature.py).
    "documents.tokens.signing_person",
    # The work queue's rows: it filters what `queries.list_requests` (attacked) already let the
    # actor read, and marks which are theirs; it refuses nothing and changes nothing.
    "requests.queues.queue",
    # A released secret extract's entry in the secret register: written by the release, after
    # the release's own gate.
    "documents.secrets.register_secret",
    # The installation's own timers and commands, run as the system (`custody sweep`, `demo`,
    # `extract purge`, `audit checkpoint`, the statistics' warming, `init --orgs`): no route
    # and no token.
    "requests.deadlines.sweep", "demo.world.load_demo", "documents.extracts.purge",
    "audit.checkpoints.create", "figures.dashboard.warm",
    "organisations.tree.load_reference_tree", "restriction.sweep.sweep",
    "organisations.communes.load_communes",
    # The record of a job an operation hands off (prepare, release), made after that
    # operation's own gate; the job runs the operation again as its asker, gate and all.
    "jobs.runs.submit",
    # Public by law: anyone may check a document's verification code.
    "documents.verification.public_status",
    # Reads that only filter by the actor's own scope: what they return is the actor's.
    "records.checks.user_scope", "figures.reports.visible",
    # Gates: they answer, they refuse nothing (as are all `can_*`).
    "figures.reports.allowed_actions", "requests.policy.allowed_actions",
}


def _request_input(o: dict) -> RequestInput:
    return RequestInput(channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON,
                        purpose="Phục vụ kiểm sát việc tạm giam theo quy định",
                        legal_basis="Điều 12 Nghị định 121/2017/NĐ-CP",
                        provision=ProvisionForm.PDF, categories=["a_orders"],
                        identity_number=o["number"])


def _written_input(o: dict) -> RequestInput:
    """The lawyer's signed form about their client (the kiosk's person), with its scan."""
    data = _request_input(o)
    data.channel, data.scan_ref = Channel.WRITTEN, "scans/don.pdf"
    data.identity_number = o["kiosk_number"]
    return data


def _restriction_input(o: dict) -> operations.RestrictionInput:
    return operations.RestrictionInput(
        commune_id=o["badinh"], order_number="50/QĐ-CSĐT", order_date=dt.date(2026, 11, 20),
        deciding_org_id=o["investigators"], start_date=dt.date(2026, 11, 20),
        term_until=dt.date(2027, 2, 20), residence="Số 2 phố Liễu Giai")


def _report_input() -> reports.ReportInput:
    return reports.ReportInput(kind=ReportKind.INCIDENT, period_start=dt.date(2026, 11, 2),
                               period_end=dt.date(2026, 11, 2), title="Sửa", body="Mô tả",
                               figures={})


ROW = {"full_name": "Lê Văn Nhập", "birth_date": "12/03/1990", "sex": "male",
       "measure": "detention", "start_date": "2026-11-01", "legal_basis": "LTG 1/2026"}
KEY = Ed25519PrivateKey.generate()

# "module.operation" → (call(session, actor, objects), attacker, the account that may do it).
# The objects are Hà Nội's: the procuracy's request awaiting the police's approval and the
# investigation agency's consent, an approved request with its released extract and its letter,
# a person, episode and case of the camp, a report of the camp, clerk.hcm's account.
S = {
    "requests.queries.get_request": (lambda s, a, o: queries.get_request(s, a, o["request"]),
                           PROVINCE, REQUESTER),
    "requests.kernel.open_request": (lambda s, a, o: kernel.open_request(s, a, o["request"]),
                            PROVINCE, REQUESTER),
    # A manager files for the body, outside its scope: the inspector files nothing.
    "requests.filing.file_request": (lambda s, a, o: filing.file_request(s, a, _request_input(o)),
                            INSPECTOR, REQUESTER),
    "requests.filing.preview_route": (lambda s, a, o: filing.preview_route(s, FLOW, a,
                                                                  _request_input(o)),
                             INSPECTOR, REQUESTER),
    "requests.queries.list_requests": (lambda s, a, o: queries.list_requests(s, a, "approval"),
                             REQUESTER, APPROVER),
    "requests.filing.submit": (lambda s, a, o: filing.submit(s, FLOW, a, o["request"]),
                      PROVINCE, REQUESTER),
    "requests.decisions.withdraw": (lambda s, a, o: decisions.withdraw(s, a, o["request"]),
                        PROVINCE, REQUESTER),
    "requests.decisions.close": (lambda s, a, o: decisions.close(s, a, o["approved"]),
                                 PROVINCE, REQUESTER),
    "requests.decisions.approve": (lambda s, a, o: decisions.approve(s, a, o["request"]),
                                   PROVINCE, APPROVER),
    "requests.decisions.refuse": (lambda s, a, o: decisions.refuse(s, FLOW, a, o["request"],
                                                    reason_code="purpose"),
                      PROVINCE, APPROVER),
    "requests.deadlines.extend_deadline": (lambda s, a, o: deadlines.extend_deadline(
        s, FLOW, a, o["request"], reason="Cần thêm thời gian xác minh"), PROVINCE, APPROVER),
    # The government's calendar changes: the installation's command line only, no account.
    "requests.calendar.change_day": (lambda s, a, o: calendar.change_day(
        s, FLOW, a, dt.date(2026, 12, 4), CalendarChange.DAY_OFF, "Nghỉ bù theo thông báo"),
        ADMIN, INSTALLATION),
    "requests.decisions.return_for_supplement": (lambda s, a, o: decisions.return_for_supplement(
        s, FLOW, a, o["request"], reason="Bổ sung văn bản đề nghị"), PROVINCE, APPROVER),
    "requests.decisions.grant_consent": (lambda s, a, o: decisions.grant_consent(
        s, FLOW, a, o["request"], letter_ref="CV 1"), PROVINCE, CONSENT),
    "requests.decisions.refuse_consent": (lambda s, a, o: decisions.refuse_consent(
        s, FLOW, a, o["request"], reason_code="harms_case"), PROVINCE, CONSENT),
    "requests.decisions.release": (lambda s, a, o: decisions.release(s, FLOW, a, o["approved"]),
                       PROVINCE, APPROVER),
    "documents.extracts.prepare_extract": (lambda s, a, o: extracts.prepare_extract(
        s, SETTINGS, a, o["approved"]), PROVINCE, APPROVER),
    "documents.extracts.release_extract": (lambda s, a, o: extracts.release_extract(
        s, FLOW, SETTINGS, a, o["approved"], document_id=o["extract"], sha256=o["sha256"]),
        PROVINCE, APPROVER),
    "documents.extracts.preview": (lambda s, a, o: extracts.preview(s, a, o["extract"]),
                         PROVINCE, APPROVER),
    "documents.extracts.download": (lambda s, a, o: extracts.download(s, a, o["extract"]),
                          PROVINCE, REQUESTER),
    "documents.extracts.revoke": (lambda s, a, o: extracts.revoke(
        s, a, o["approved"], o["extract"], reason="Cung cấp nhầm người"), PROVINCE, APPROVER),
    "documents.letters.letter": (lambda s, a, o: letters.letter(s, a, o["letter"]),
                        PROVINCE, REQUESTER),
    "documents.extracts.visible_documents": (lambda s, a, o: extracts.visible_documents(
        s, a, o["approved"]), PROVINCE, REQUESTER),
    "documents.secrets.secret_register": (lambda s, a, o: secrets.secret_register(s, a, 2026),
                                          REQUESTER, APPROVER),
    "records.error_reports.reportable_extract": (lambda s, a, o: error_reports.reportable_extract(
        s, a, o["extract"]), PROVINCE, REQUESTER),
    "records.error_reports.report_error": (lambda s, a, o: error_reports.report_error(
        s, a, o["extract"], description="Ngày bắt đầu tạm giam ghi sai"), PROVINCE, REQUESTER),
    "records.error_reports.list_error_reports": (
        lambda s, a, o: error_reports.list_error_reports(s, a), REQUESTER, CLERK),
    "records.error_reports.get_error_report": (lambda s, a, o: error_reports.get_error_report(
        s, a, o["error_report"]), PROVINCE, CLERK),
    "records.error_reports.close_error_report": (
        lambda s, a, o: error_reports.close_error_report(
            s, a, o["error_report"], corrected=False, note="Dữ liệu đúng với hồ sơ gốc"),
        PROVINCE, CLERK),
    "records.persons.create_person": (lambda s, a, o: persons.create_person(
        s, a, persons.PersonInput(full_name="Lê Văn Nhập", birth_date=dt.date(1990, 3, 12),
                                  sex="male"),
        episodes.EpisodeInput(facility_id=o["camp"], measure=Measure.DETENTION,
                             start_date=dt.date(2026, 11, 1), legal_basis="LTG 1/2026")),
        PROVINCE, CLERK),
    "records.persons.view_person": (lambda s, a, o: persons.view_person(
        s, a, o["person"], ReadPurpose("keeping")), PROVINCE, CLERK),
    "records.episodes.add_episode": (lambda s, a, o: episodes.add_episode(
        s, a, o["person"], episodes.EpisodeInput(facility_id=o["camp"], measure=Measure.CUSTODY,
                                                start_date=dt.date(2026, 11, 20),
                                                legal_basis="QĐ 2")), PROVINCE, CLERK),
    "records.persons.add_identifier": (lambda s, a, o: persons.add_identifier(
        s, a, o["person"], persons.IdentifierInput(kind=IdentifierKind.PASSPORT,
                                                   value="C7654321", issuing_country="Lào")),
        PROVINCE, CLERK),
    "records.episodes.add_event": (lambda s, a, o: episodes.add_event(
        s, a, o["episode"], kind=EventKind.VISIT, occurred_on=dt.date(2026, 11, 20)),
        PROVINCE, CLERK),
    "records.persons.add_document": (lambda s, a, o: persons.add_document(
        s, a, o["person"], category=DocumentCategory.ORDERS, title="Lệnh", number="1/L",
        issued_on=dt.date(2026, 11, 20), issuer="CQĐT", secrecy=Secrecy.NONE, summary=None),
        PROVINCE, CLERK),
    "records.corrections.correct": (lambda s, a, o: corrections.correct(
        s, a, "person", o["person"], {"full_name": "Đổi Tên"}, reason="thử tấn công quyền hạn",
        expected_version=1), PROVINCE, CLERK),
    "records.cases.create_case": (lambda s, a, o: cases.create_case(
        s, a, number="1/X", title="t", charges="c", opened_on=dt.date(2026, 1, 1),
        stage=CaseStage.CLOSED, handling_org_id=None), MANAGER, CLERK),
    "records.cases.get_case": (lambda s, a, o: cases.get_case(s, a, o["case"]), PROVINCE, CLERK),
    "records.cases.change_case_stage": (lambda s, a, o: cases.change_case_stage(
        s, a, o["case"], stage=CaseStage.CLOSED, handling_org_id=None,
        from_date=dt.date(2026, 11, 20)), PROVINCE, CLERK),
    "records.checks.writable_facility": (lambda s, a, o: checks.writable_facility(s, a, o["camp"]),
                                  PROVINCE, CLERK),
    "records.bulk_import.import_rows": (lambda s, a, o: bulk_import.import_rows(
        s, a, o["camp"], [ROW], "tep.json"), PROVINCE, CLERK),
    "records.bulk_import.queue_import": (lambda s, a, o: bulk_import.queue_import(
        s, a, o["camp"], json.dumps([ROW]).encode(), "tep.json"), PROVINCE, CLERK),
    "records.bulk_import.import_job": (lambda s, a, o: bulk_import.import_job(
        s, a, o["import_job"]), PROVINCE, CLERK),
    "records.bulk_import.apply_import": (lambda s, a, o: bulk_import.apply_import(
        s, a, s.get(Job, o["import_job"])), PROVINCE, CLERK),
    "records.search.search_persons": (lambda s, a, o: search.search_persons(s, a, "nguyen"),
                              MANAGER, CLERK),
    "figures.reports.create": (lambda s, a, o: reports.create(s, a, _report_input()),
                               MANAGER, CLERK),
    "figures.reports.get": (lambda s, a, o: reports.get(s, a, o["report"]), PROVINCE, CLERK),
    "figures.reports.edit": (lambda s, a, o: reports.edit(s, a, o["report"], _report_input()),
                     PROVINCE, CLERK),
    "figures.reports.correct": (lambda s, a, o: reports.correct(s, a, o["report"]),
                                PROVINCE, CLERK),
    "figures.reports.fire": (lambda s, a, o: reports.fire(s, a, o["report"], "accept"),
                     PROVINCE, MANAGER),
    "figures.dashboard.build": (lambda s, a, o: dashboard.build(
        s, a, Rulebook(), day=dt.date(2026, 10, 31), start=dt.date(2026, 1, 1),
        end=dt.date(2026, 10, 31), control=disclosure.cell_key_control("k", 5)), CLERK, MANAGER),
    "audit.trail.read_trail": (lambda s, a, o: trail.read_trail(s, a, trail.TrailFilter()),
                         CLERK, INSPECTOR),
    "audit.trail.verify_chain": (lambda s, a, o: trail.verify_chain(s, a), CLERK, INSPECTOR),
    "security.accounts.view_user": (lambda s, a, o: accounts.view_user(s, a, o["user"]),
                                    CLERK, ADMIN),
    "security.accounts.managed_user": (lambda s, a, o: accounts.managed_user(s, a, o["user"]),
                              CLERK, ADMIN),
    "security.accounts.create_user": (lambda s, a, o: accounts.create_user(
        s, a, username="intruder", full_name="I", organisation_id=o["camp"],
        roles={Role.CLERK}, password="một cụm từ đủ dài"), CLERK, ADMIN),
    "security.accounts.update_user": (lambda s, a, o: accounts.update_user(
        s, a, o["user"], roles={Role.CLERK}, active=True, clearance=Secrecy.TOP_SECRET),
        CLERK, ADMIN),
    "security.accounts.unlock": (lambda s, a, o: accounts.unlock(s, a, o["user"]), CLERK, ADMIN),
    "security.mfa.reset": (lambda s, a, o: mfa.reset(s, a, o["user"]), CLERK, ADMIN),
    "security.tokens.issue": (lambda s, a, o: tokens.issue(s, a, s.get(User, o["system"]), "x"),
                     CLERK, ADMIN),
    "security.tokens.revoke": (lambda s, a, o: tokens.revoke(s, a, o["token"]), CLERK, ADMIN),
    "exchange.outgoing.export_package": (
        lambda s, a, o: outgoing.export_package(s, a, "TTCSDL", KEY), HANOI_EXCHANGE, CENTRE),
    "exchange.incoming.import_package": (lambda s, a, o: incoming.import_package(s, a, {}),
                                REQUESTER, CENTRE),
    "exchange.feeds.run_feed": (lambda s, a, o: feeds.run_feed(s, a, o["agreement"], KEY),
                          HANOI_EXCHANGE, CENTRE),
    "exchange.outgoing.reexport_package": (lambda s, a, o: outgoing.reexport_package(
        s, a, "TTCSDL", 1, KEY), HANOI_EXCHANGE, CENTRE),
    "exchange.outgoing.record_receipt": (lambda s, a, o: outgoing.record_receipt(
        s, a, {"format": "custody-receipt/1", "source": "TTCSDL", "sequence": 1,
               "receiver": "QP-QL"}), HANOI_EXCHANGE, CENTRE),
    "exchange.outgoing.sent_packages": (lambda s, a, o: outgoing.sent_packages(s, a, "TTCSDL"),
                                        HANOI_EXCHANGE, CENTRE),
    "exchange.matches.open_matches": (lambda s, a, o: matches.open_matches(s, a), CLERK,
                                      CENTRE_CLERK),
    "exchange.matches.decide_match": (lambda s, a, o: matches.decide_match(
        s, a, o["match"], same=True, reason="Cùng số CMND cũ"), CLERK, CENTRE_CLERK),
    # The conflict queue: Hà Nội camp's records officer settles the conflicts of its records.
    "exchange.conflicts.list_conflicts": (lambda s, a, o: conflicts.list_conflicts(s, a),
                                          REQUESTER, CLERK),
    "exchange.conflicts.get_conflict": (lambda s, a, o: conflicts.get_conflict(
        s, a, o["conflict"]), PROVINCE, CLERK),
    "exchange.conflicts.read_conflict": (lambda s, a, o: conflicts.read_conflict(
        s, a, o["conflict"]), PROVINCE, CLERK),
    "exchange.conflicts.decide": (lambda s, a, o: conflicts.decide(
        s, a, o["conflict"], keep="theirs", reason="Lấy theo bên gửi"), PROVINCE, CLERK),
    "exchange.conflicts.ask_again": (lambda s, a, o: conflicts.ask_again(
        s, a, o["conflict"], reason="Đề nghị gửi lại"), CENTRE, CLERK),
    "exchange.conflicts.ask_document": (lambda s, a, o: conflicts.ask_document(
        s, a, "TTG-HANOI", KEY), CLERK, HANOI_EXCHANGE),
    "exchange.outgoing.record_ask": (lambda s, a, o: outgoing.record_ask(
        s, a, {"format": "custody-ask/1", "source": "TTCSDL", "receiver": "QP-QL",
               "records": [{"type": "person", "id": 1}]}), HANOI_EXCHANGE, CENTRE),
    "exchange.trust.register_partner": (lambda s, a, o: trust.register_partner(
        s, a, "QP-QL", "not a key"), CENTRE, INSTALLATION),
    "security.kiosk.register_device": (lambda s, a, o: kiosk.register_device(s, a, "Máy"),
                                       MANAGER, CLERK),
    "security.kiosk.facility_devices": (lambda s, a, o: kiosk.facility_devices(s, a),
                                        MANAGER, CLERK),
    "security.kiosk.start_kiosk_mode": (lambda s, a, o: kiosk.start_kiosk_mode(
        s, a, o["device"]), PROVINCE, CLERK),
    "security.kiosk.end_kiosk_mode": (lambda s, a, o: kiosk.end_kiosk_mode(s, a, o["device"]),
                                      PROVINCE, CLERK),
    "security.kiosk.issue_pin": (lambda s, a, o: kiosk.issue_pin(s, a, o["kiosk_person"]),
                                 PROVINCE, CLERK),
    "requests.filing.file_own_request": (lambda s, a, o: filing.file_own_request(
        s, FLOW, a, categories=["episodes"], provision=ProvisionForm.PDF), REQUESTER, DETAINEE),
    "requests.queries.own_requests": (lambda s, a, o: queries.own_requests(s, a),
                                      REQUESTER, DETAINEE),
    "requests.queries.own_request": (lambda s, a, o: queries.own_request(
        s, a, o["own_request"]), REQUESTER, DETAINEE),
    # A body's work queue: its deciders take, give and act on its requests in bulk.
    "requests.queues.claim": (lambda s, a, o: queues.claim(s, a, o["request"]),
                              PROVINCE, APPROVER),
    "requests.queues.assign": (lambda s, a, o: queues.assign(
        s, a, o["request"], officer_id=s.scalar(select(User.id).where(
            User.username == APPROVER))), PROVINCE, APPROVER),
    "requests.queues.bulk": (lambda s, a, o: queues.bulk(
        s, FLOW, a, "extend", [o["request"]], reason="Gia hạn đồng loạt theo chỉ đạo"),
        PROVINCE, APPROVER),
    # Who read my record: the person's own view, and the handling body's disclosure.
    "audit.tracker.own_reads": (lambda s, a, o: tracker.own_reads(
        s, a, frozenset({CaseStage.INVESTIGATION})), CLERK, DETAINEE),
    "audit.tracker.handled_cases": (lambda s, a, o: tracker.handled_cases(
        s, a, frozenset({CaseStage.INVESTIGATION})), APPROVER, CONSENT),
    "audit.tracker.disclose_reads": (lambda s, a, o: tracker.disclose_reads(
        s, a, o["handled_case"]), APPROVER, CONSENT),
    # Requesters outside the state: the clerks of the body that vouched (or above) register,
    # see and withdraw; the clerks of the facility holding the person record whom they act
    # for; the lawyer alone sees who read the client's record.
    "requests.requesters.register_requester": (lambda s, a, o: requesters.register_requester(
        s, a, kind=RequesterKind.OTHER, full_name="Phạm Thu", username="attack.outside",
        password="a test passphrase", email=None, identity_document="CCCD 001",
        credential=None), APPROVER, CLERK),
    "requests.requesters.vetting_of": (lambda s, a, o: requesters.vetting_of(
        s, a, o["requester"]), PROVINCE, CLERK),
    "requests.requesters.vettings_seen": (lambda s, a, o: requesters.vettings_seen(s, a),
                                          APPROVER, CLERK),
    "requests.requesters.mandates_seen": (lambda s, a, o: requesters.mandates_seen(
        s, a, o["requester"]), APPROVER, CLERK),
    "requests.requesters.withdraw_vetting": (lambda s, a, o: requesters.withdraw_vetting(
        s, a, o["requester"]), PROVINCE, CLERK),
    "requests.requesters.record_mandate": (lambda s, a, o: requesters.record_mandate(
        s, a, o["requester"], identity_number=o["number"],
        ground=MandateGround.AUTHORISATION, reference="Giấy ủy quyền",
        valid_from=dt.date(2026, 11, 24)), APPROVER, CLERK),
    "requests.requesters.end_mandate": (lambda s, a, o: requesters.end_mandate(
        s, a, o["mandate"]), PROVINCE, CLERK),
    "requests.requesters.mandates_in_scope": (lambda s, a, o: requesters.mandates_in_scope(
        s, a), APPROVER, CLERK),
    "requests.requesters.record_mandate_named": (lambda s, a, o: requesters.record_mandate_named(
        s, a, "lawyer.demo", identity_number=o["number"], ground=MandateGround.AUTHORISATION,
        reference="Giấy ủy quyền", valid_from=dt.date(2026, 11, 24)), APPROVER, CLERK),
    # A posted form entered in the name of a requester the clerk's body vouched for.
    "requests.filing.enter_written_request": (lambda s, a, o: filing.enter_written_request(
        s, FLOW, a, o["requester"], _written_input(o)), PROVINCE, CLERK),
    "requests.filing.preview_written_request": (lambda s, a, o: filing.preview_written_request(
        s, FLOW, a, o["requester"], _written_input(o)), PROVINCE, CLERK),
    "requests.requesters.my_mandates": (lambda s, a, o: requesters.my_mandates(s, a),
                                        REQUESTER, LAWYER),
    "audit.tracker.client_reads": (lambda s, a, o: tracker.client_reads(
        s, a, o["mandate"], frozenset({CaseStage.INVESTIGATION})), "relative.demo", LAWYER),
    "requests.queries.page_of_requests": (lambda s, a, o: queries.page_of_requests(
        s, a, "approval", page=1, size=10), REQUESTER, APPROVER),
    # A released extract read as data: its recipient of the requesting body alone.
    "documents.reading.read_extract": (lambda s, a, o: reading.read_extract(
        s, SETTINGS, a, o["extract"]), PROVINCE, REQUESTER),
    # A body's webhooks: its own software (a person of the body is refused too).
    "webhooks.registry.webhooks_of": (lambda s, a, o: registry.webhooks_of(s, a, o["vks"]),
                                      REQUESTER, SOFTWARE),
    "webhooks.registry.register": (lambda s, a, o: registry.register(
        s, a, o["vks"], "https://hooks.vks.example.vn/c2"), REQUESTER, SOFTWARE),
    "webhooks.registry.disable": (lambda s, a, o: registry.disable(s, a, o["vks"], o["hook"]),
                                  REQUESTER, SOFTWARE),
    "webhooks.registry.deliveries": (lambda s, a, o: registry.deliveries(
        s, a, o["vks"], o["hook"]), REQUESTER, SOFTWARE),
    # Residence restriction: another province's clerk acts on Ba Đình's persons; a commune
    # takes over only what is handed over to it.
    "restriction.operations.open_restriction": (lambda s, a, o: operations.open_restriction(
        s, FLOW, a, o["restricted_person"], _restriction_input(o)), PROVINCE, COMMUNE),
    "restriction.operations.register_person": (lambda s, a, o: operations.register_person(
        s, FLOW, a, persons.PersonInput(full_name="Lê Văn Cấm", birth_date=dt.date(1990, 3, 12),
                                        sex="male"), _restriction_input(o)), PROVINCE, COMMUNE),
    "restriction.operations.record_event": (lambda s, a, o: operations.record_event(
        s, FLOW, a, o["restriction"], kind=RestrictionEventKind.MEETING,
        occurred_on=dt.date(2026, 11, 20)), PROVINCE, COMMUNE),
    "restriction.operations.change_residence": (lambda s, a, o: operations.change_residence(
        s, FLOW, a, o["restriction"], occurred_on=dt.date(2026, 11, 20),
        residence="Số 1 phố Tràng Tiền", commune_id=o["hoankiem"]), PROVINCE, COMMUNE),
    "restriction.operations.receive_handover": (lambda s, a, o: operations.receive_handover(
        s, FLOW, a, o["handed_over"], occurred_on=dt.date(2026, 11, 24)), COMMUNE, RECEIVING),
    "restriction.operations.end_restriction": (lambda s, a, o: operations.end_restriction(
        s, FLOW, a, o["restriction"], reason=EndReason.LIFTED,
        occurred_on=dt.date(2026, 11, 20)), RECEIVING, COMMUNE),
    "exchange.feeds.create_agreement": (lambda s, a, o: feeds.create_agreement(
        s, a, partner="P", fields=["full_name"], purpose="Cung cấp theo Điều 13",
        approval_ref="QĐ 1", valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2099, 1, 1)),
        CENTRE, INSTALLATION),
}


def _operations() -> set[str]:
    """Every public function of the workflow package's modules with a parameter `actor`."""
    found = set()
    for info in pkgutil.walk_packages(workflow.__path__, "workflow."):
        if info.name.startswith("workflow.migrations"):
            continue
        module = importlib.import_module(info.name)
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if (fn.__module__ == module.__name__ and not name.startswith("_")
                    and "actor" in inspect.signature(fn).parameters):
                found.add(f"{info.name.removeprefix('workflow.')}.{name}")
    return found


def test_every_operation_is_attacked():
    operations = {op for op in _operations() if not op.rsplit(".", 1)[1].startswith("can_")}
    assert operations - EXEMPT == set(S), "add the new operation to S (or, with why, EXEMPT)"
    assert not EXEMPT & set(S)


def _arrange(app, db, objects) -> dict:  # noqa: F811
    system_token(app)  # the system account whose token is revoked
    with app.extensions["custody_sessions"]() as session:
        for username, code in ((CENTRE, "TTCSDL"), (HANOI_EXCHANGE, "CA-HANOI")):
            accounts.create_user(session, SYSTEM, username=username, full_name=username,
                                 organisation_id=org(session, code).id, roles={Role.EXCHANGE},
                                 password="một cụm từ đủ dài", system=True)
        agreement = feeds.create_agreement(
            session, SYSTEM, partner="CSDL khác", fields=["full_name"],
            purpose="Cung cấp theo Điều 13 Nghị định", approval_ref="QĐ 1",
            valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2099, 12, 31))
        accounts.create_user(session, SYSTEM, username=CENTRE_CLERK, full_name=CENTRE_CLERK,
                             organisation_id=org(session, "TTCSDL").id, roles={Role.CLERK},
                             password="một cụm từ đủ dài")
        two = session.scalars(select(Person.id).order_by(Person.id).limit(2)).all()
        match = PersonMatch(source="QP-QL", source_id=1, person_id=two[1], candidate_id=two[0],
                            found_at=NOW)
        session.add(match)
        # A package the centre sent, for the control of making one again.
        outgoing.export_package(session, _as(session, CENTRE), "TTCSDL", KEY)
        own = filing.file_own_request(session, FLOW, _as(session, DETAINEE),
                                      categories=["episodes"], provision=ProvisionForm.PDF)
        vks = org(session, "VKS-HANOI").id
        hook = registry.register(session, _as(session, SOFTWARE), vks,
                                 "https://hooks.vks.example.vn/c")
        session.commit()
        extract = session.get(IssuedDocument, objects["extract"])
        request = session.get(AccessRequest, objects["request"])
        return {**objects, "agreement": agreement.id, "approved": extract.request_id,
                "sha256": extract.sha256, "camp": org(session, "TTG-HANOI").id,
                "number": request.subject_person.identifiers[-1].value,
                "system": session.scalar(select(User.id).where(User.username == "system.vks")),
                "token": session.scalar(select(ApiToken.id)), "own_request": own.id,
                "vks": vks, "hook": hook.id, "match": match.id,
                "kiosk_person": session.scalar(select(User.person_id).where(
                    User.username == DETAINEE)),
                "kiosk_number": session.get(Person, session.scalar(select(User.person_id).where(
                    User.username == DETAINEE))).identifiers[-1].value,
                **_restrictions(session)}


def _restrictions(session) -> dict:
    """The demo's persons under residence restriction at Ba Đình: one under the measure, one
    being handed over to Hoàn Kiếm."""
    episodes = {e.state: e for e in session.scalars(select(RestrictionEpisode).order_by(
        RestrictionEpisode.id.desc()))}
    active = episodes[RestrictionState.ACTIVE]
    return {"restriction": active.id, "restricted_person": active.person_id,
            "handed_over": episodes[RestrictionState.HANDING_OVER].id,
            "badinh": org(session, "CAX-HANOI-BADINH").id,
            "hoankiem": org(session, "CAX-HANOI-HOANKIEM").id,
            "investigators": org(session, "CSDT-HANOI").id}


def _as(session, username: str | None) -> Actor:
    if username is None:
        return SYSTEM
    return Actor(session.scalars(select(User).where(User.username == username)).one(),
                 "127.0.0.1", NOW)


def _set(db, username: str, **values) -> None:
    db.expire_all()
    user = db.scalars(select(User).where(User.username == username)).one()
    for key, value in values.items():
        setattr(user, key, value)
    db.commit()


def test_no_actor_gets_through_a_service(app, db, objects):  # noqa: F811
    o = _arrange(app, db, objects)
    sessions = app.extensions["custody_sessions"]
    failures = []

    def attack(name: str, call, username: str | None, how: str) -> None:
        before = db_state(db)
        with sessions() as session:
            try:
                call(session, _as(session, username), o)
            except REFUSED:
                pass
            except DomainError as error:
                failures.append((name, how, type(error).__name__, error.message))
            else:
                failures.append((name, how, "not refused"))
            # What the operation did before refusing would now be kept: nothing must be.
            session.commit()
        if db_state(db) != before:
            failures.append((name, how, "changed the database"))

    for name, (call, attacker, rightful) in S.items():
        attack(name, call, attacker, attacker)
        if rightful is not INSTALLATION:
            live = {"locked_at": None, "active": True}
            for how, dead in (("locked", {"locked_at": NOW}), ("disabled", {"active": False})):
                _set(db, rightful, **dead)
                attack(name, call, rightful, f"{rightful} {how}")
                _set(db, rightful, **live)
        # The control: the account that may do it passes the gate (undone: not committed).
        with sessions() as session:
            try:
                call(session, _as(session, rightful), o)
            except REFUSED as error:
                failures.append((name, rightful, "the control is refused", error.message))
            except DomainError:
                pass  # past the gate: the state of the object or the input stops it
            session.rollback()
    assert not failures, "\n".join(map(str, failures))

