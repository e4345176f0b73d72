"""What issued documents cite (issue 15, item 13): the law on executing custody in force on the
document's date — Law 94/2015/QH13 with its article before 2026-07-01, Law 128/2025/QH15 and no
article of Law 94 after — the rule version of the decision, Decree 121 Art. 12 §3(b) for outside
bodies, and configured provisions; read back from the PDFs; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from tests.worlds import SETTINGS, World, arrange, fresh_person, text_of
from workflow.context import Actor
from workflow.documents import extracts, letters
from workflow.documents.citations import category_title
from workflow.documents.enums import IssuedKind
from workflow.records.enums import CaseStage, DocumentCategory
from workflow.requests import decisions, filing
from workflow.requests.enums import Channel, ProvisionForm, SubjectKind
from workflow.requests.filing import RequestInput
from workflow.requests.kernel import Workflow
from workflow.requests.rules import RECORD_FILE, Cited, Rulebook

BEFORE = dt.datetime(2026, 6, 15, 3, 0, tzinfo=dt.UTC)  # Law 94/2015/QH13 in force
LAW_94 = "Luật Thi hành tạm giữ, tạm giam số 94/2015/QH13"
LAW_128 = "Luật Thi hành tạm giữ, tạm giam và cấm đi khỏi nơi cư trú số 128/2025/QH15"
OUTSIDE = "điểm b khoản 3 Điều 12 Nghị định số 121/2017/NĐ-CP"


def _text(pdf: bytes, tmp_path) -> str:
    """The PDF's text, a number wrapped after a slash ("128/2025/ QH15") joined again."""
    return text_of(pdf, tmp_path).replace("/ ", "/")


def _flow(settings=SETTINGS) -> Workflow:
    return Workflow(settings.rules, notices=letters.notices(settings))


def _at(world: World, username: str, now: dt.datetime) -> Actor:
    return world.actor(username, now)


def _filed(world: World, db, now: dt.datetime, flow: Workflow):
    """The procuracy (an outside body: Art. 12 §3(b)) asks about a person under investigation
    on `now`'s day."""
    person = fresh_person(world, db, CaseStage.INVESTIGATION, unclassified=True)
    data = RequestInput(channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON,
                        purpose="Phục vụ kiểm sát việc tạm giam theo quy định",
                        legal_basis="Điều 12 Nghị định 121/2017/NĐ-CP",
                        provision=ProvisionForm.PDF, categories=["a_orders", "episodes"],
                        identity_number=person.identifiers[-1].value)
    request = world.act(filing.file_request, _at(world, "requester.vks", now), data)
    return world.act(filing.submit, flow, _at(world, "requester.vks", now), request.id)


def _letter(world: World, request_id: int, kind: IssuedKind):
    world.session.expire_all()
    return next(d for d in extracts.documents_of(world.session, request_id) if d.kind is kind)


def test_a_document_dated_before_july_2026_cites_law_94_and_its_article(world, db, tmp_path):
    flow = _flow()
    request = _filed(world, db, BEFORE, flow)
    assert request.rule_version == "L94-2015.1"
    world.act(decisions.approve, _at(world, "approver.hanoi", BEFORE), request.id)
    world.act(decisions.grant_consent, flow, _at(world, "consent.hanoi", BEFORE), request.id)
    document = world.act(extracts.prepare_extract, SETTINGS,
                         _at(world, "approver.hanoi", BEFORE), request.id)
    text = _text(document.pdf, tmp_path)
    assert f"Căn cứ khoản 1 Điều 17 {LAW_94};" in text
    assert "128/2025" not in text
    assert "Bộ quy tắc L94-2015.1" in text
    # The record categories keep their points of Law 94 Art. 17 §1.
    assert "a) Lệnh, quyết định" in text
    consent = _letter(world, request.id, IssuedKind.CONSENT)
    text = _text(consent.pdf, tmp_path)
    assert f"Căn cứ khoản 1 Điều 17 {LAW_94} và {OUTSIDE}" in text
    assert "Bộ quy tắc L94-2015.1" in text


def test_a_document_dated_after_cites_law_128_and_no_article_of_law_94(world, db, tmp_path):
    person, request = arrange(world, db)
    document = world.act(extracts.prepare_extract, SETTINGS, world.actor("approver.hanoi"),
                         request.id)
    text = _text(document.pdf, tmp_path)
    assert f"Căn cứ {LAW_128};" in text
    assert "94/2015" not in text and "Điều 17" not in text
    # The version printed is the one stored with the decisions.
    assert request.rule_version == "L128-2025.1"
    assert f"Bộ quy tắc {request.rule_version}" in text
    # No point letter of Law 94 on a record category while Law 128's is pending text.
    assert "a) Lệnh" not in text and "Lệnh, quyết định" in text
    # The procuracy is an outside body: Art. 12 §3(b), not §3(a), beside the approval.
    assert f"ngày 24/11/2026 ({OUTSIDE})" in text


@pytest.mark.parametrize("decide", ["refuse", "return"])
def test_letters_cite_the_law_of_their_date_and_the_decisions_rule_version(world, db, tmp_path,
                                                                          decide):
    flow = _flow()
    approver = _at(world, "approver.hanoi", BEFORE)
    request = _filed(world, db, BEFORE, flow)
    if decide == "refuse":
        world.act(decisions.refuse, flow, approver, request.id, reason_code="purpose")
        letter = _letter(world, request.id, IssuedKind.REFUSAL)
    else:
        world.act(decisions.return_for_supplement, flow, approver, request.id,
                  reason="Bổ sung căn cứ pháp lý của đề nghị")
        letter = _letter(world, request.id, IssuedKind.RETURN)
    text = _text(letter.pdf, tmp_path)
    assert f"khoản 1 Điều 17 {LAW_94} và {OUTSIDE}" in text
    decided = world.reload(request.id)
    versions = {s.rule_version for s in decided.steps} | {
        t.rule_version for t in decided.transitions
        if t.trigger in ("refuse", "return_for_supplement")}
    assert versions == {"L94-2015.1"} and "Bộ quy tắc L94-2015.1" in text


def test_a_refusal_after_july_cites_law_128_without_an_article(world, db, tmp_path):
    flow = _flow()
    request = _filed(world, db, BEFORE.replace(month=11, day=24), flow)
    world.act(decisions.refuse, flow, world.actor("approver.hanoi"), request.id,
              reason_code="purpose")
    text = _text(_letter(world, request.id, IssuedKind.REFUSAL).pdf, tmp_path)
    assert f"Căn cứ {LAW_128} và {OUTSIDE}" in text
    assert "94/2015" not in text and "Điều 17" not in text
    assert "Bộ quy tắc L128-2025.1" in text


def test_a_configured_provision_of_law_128_is_printed(world, db, tmp_path):
    rules = Rulebook.from_overrides({"L128-2025.1": {
        "provisions": {RECORD_FILE: "khoản 9 Điều 99"},
        "record_categories": {"a_orders": "điểm e khoản 9 Điều 99"}}})
    settings = dataclasses.replace(SETTINGS, rules=rules)
    person, request = arrange(world, db)
    document = world.act(extracts.prepare_extract, settings, world.actor("approver.hanoi"),
                         request.id)
    text = _text(document.pdf, tmp_path)
    assert f"Căn cứ khoản 9 Điều 99 {LAW_128};" in text
    assert "e) Lệnh, quyết định" in text and "94/2015" not in text


def test_a_candidate_still_pending_text_is_not_printed(world, db, tmp_path):
    rules = Rulebook.from_overrides({"L128-2025.1": {
        "provisions": {RECORD_FILE: {"text": "khoản 9 Điều 99", "pending": True}}}})
    person, request = arrange(world, db)
    document = world.act(extracts.prepare_extract, dataclasses.replace(SETTINGS, rules=rules),
                         world.actor("approver.hanoi"), request.id)
    text = _text(document.pdf, tmp_path)
    assert f"Căn cứ {LAW_128};" in text and "Điều 99" not in text


def test_law_128_copies_no_provision_of_law_94():
    law_94, law_128 = Rulebook().rulesets
    assert law_94.law_number == "94/2015/QH13" and law_128.law_number == "128/2025/QH15"
    assert law_94.provision(RECORD_FILE) == Cited("khoản 1 Điều 17")
    assert not any(c.printable for c in law_128.provisions.values())
    assert not any(c.provision.printable for c in law_128.record_categories)
    assert {c.category for c in law_128.record_categories} == set(DocumentCategory)
    assert law_128.pending == [RECORD_FILE, *(c.value for c in DocumentCategory)]
    assert law_94.pending == []


def test_overrides_are_checked_and_merged():
    rules = Rulebook.from_overrides({"L128-2025.1": {"record_categories": {
        "b_handover": {"text": "điểm b khoản 2 Điều 30", "pending": False}}}})
    law_128 = rules.version("L128-2025.1")
    assert law_128.category_provision(DocumentCategory.HANDOVER).printable
    assert not law_128.category_provision(DocumentCategory.ORDERS).printable
    assert law_128.provision(RECORD_FILE).pending  # untouched fields stay
    for bad in ({"record_categories": {"nope": "x"}}, {"provisions": {RECORD_FILE: 7}},
                {"provisions": {RECORD_FILE: {"article": "x"}}}):
        with pytest.raises(ValueError):
            Rulebook.from_overrides({"L128-2025.1": bad})


def test_a_category_title_carries_the_point_in_force_or_none():
    label = "a) Lệnh, quyết định"
    law_94, law_128 = Rulebook().rulesets
    assert category_title(label, DocumentCategory.ORDERS, law_94) == label
    assert category_title(label, DocumentCategory.ORDERS, law_128) == "Lệnh, quyết định"
    assert category_title(label, DocumentCategory.ORDERS, None) == label
