"""A signed decision needs the official's recorded position and signing authority (Decree
30/2020 Art. 13): refused, with nothing changed, until an administrator records them, on the
page and in the service alike; once recorded, the documents print them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.worlds import (
    SETTINGS,
    arrange,
    ask,
    person_with_stage,
    prepare,
    release,
    text_of,
)
from workflow.documents import letters
from workflow.documents.enums import Authority, IssuedKind
from workflow.errors import Forbidden
from workflow.models import AccessRequest, IssuedDocument, User
from workflow.records.enums import CaseStage
from workflow.requests import decisions
from workflow.requests.enums import RequestState
from workflow.requests.kernel import Workflow
from workflow.requests.policy import signing_refusal

NOTICES = Workflow(notices=letters.notices(SETTINGS))
MESSAGE = "Chức vụ và thẩm quyền ký của tài khoản chưa được ghi nhận"


def unrecord(world, username: str, *, position: str | None = None,
             authority: Authority | None = None) -> None:
    """What an administrator records of how the account signs (nothing, by default)."""
    user = world.user(username)
    user.position, user.signs_as = position, authority
    world.session.commit()


def snapshot(world, request_id: int) -> tuple:
    request = world.reload(request_id)
    seen = (request.state, request.version, len(request.transitions),
            len(world.session.scalars(select(IssuedDocument.id).where(
                IssuedDocument.request_id == request_id)).all()))
    world.session.commit()
    return seen


@pytest.mark.parametrize(("username", "position", "authority"), [
    ("approver.hanoi", None, None), ("approver.hanoi", "Phó Giám đốc", None),
    ("approver.hanoi", "  ", Authority.DEPUTY), ("consent.hanoi", None, None)])
def test_every_signed_decision_is_refused_until_the_authority_is_recorded(
        world, db, username, position, authority):
    request = ask(world, "requester.vks", person_with_stage(world, CaseStage.INVESTIGATION))
    if username == "consent.hanoi":
        world.act(decisions.approve, world.actor("approver.hanoi"), request.id)
    unrecord(world, username, position=position, authority=authority)
    before = snapshot(world, request.id)
    actor = world.actor(username)
    attempts = [lambda: decisions.return_for_supplement(
        world.session, NOTICES, actor, request.id, reason="Bổ sung căn cứ pháp lý")]
    if username == "approver.hanoi":
        attempts += [lambda: decisions.approve(world.session, actor, request.id),
                     lambda: decisions.refuse(world.session, NOTICES, actor, request.id,
                                              reason_code="purpose")]
    else:
        attempts += [lambda: decisions.grant_consent(world.session, NOTICES, actor, request.id),
                     lambda: decisions.refuse_consent(world.session, NOTICES, actor,
                                                      request.id, reason_code="harms_case")]
    for attempt in attempts:
        with pytest.raises(Forbidden) as refused:
            world.act(lambda session, attempt=attempt: attempt())
        assert refused.value.message == signing_refusal(world.user(username)).message
        assert snapshot(world, request.id) == before


def test_preparing_and_releasing_an_extract_need_the_authority(world, db):
    _person, request = arrange(world, db)
    document = prepare(world, request.id)
    unrecord(world, "approver.hanoi")
    with pytest.raises(Forbidden):
        prepare(world, request.id)
    with pytest.raises(Forbidden):
        release(world, document)
    assert world.reload(request.id).state is RequestState.APPROVED
    world.session.commit()


def test_once_recorded_the_decision_is_made_and_its_notice_prints_the_authority(
        world, db, tmp_path):
    request = ask(world, "requester.vks", person_with_stage(world, None))
    unrecord(world, "approver.hanoi")
    with pytest.raises(Forbidden):
        world.act(decisions.refuse, NOTICES, world.actor("approver.hanoi"), request.id,
                  reason_code="purpose")
    unrecord(world, "approver.hanoi", position="Chánh Văn phòng",
             authority=Authority.DELEGATED)
    world.act(decisions.refuse, NOTICES, world.actor("approver.hanoi"), request.id,
              reason_code="purpose")
    assert world.reload(request.id).state is RequestState.REFUSED
    notice = world.session.scalars(select(IssuedDocument).where(
        IssuedDocument.request_id == request.id,
        IssuedDocument.kind == IssuedKind.REFUSAL)).one()
    assert notice.signed_as.splitlines()[:2] == ["TUQ. GIÁM ĐỐC", "CHÁNH VĂN PHÒNG"]
    assert "TUQ. GIÁM ĐỐC CHÁNH VĂN PHÒNG" in text_of(notice.pdf, tmp_path)
    world.session.commit()


def test_the_page_shows_why_instead_of_the_decision_forms(client, auth, db):
    request_id = db.scalars(select(AccessRequest.id).where(
        AccessRequest.state == "awaiting_approval").order_by(AccessRequest.id)).first()
    approver = db.scalars(select(User).where(User.username == "approver.hanoi")).one()
    approver.position, approver.signs_as = None, None
    db.commit()
    version = db.get(AccessRequest, request_id).version
    auth.login("approver.hanoi")
    page = client.get(f"/requests/{request_id}").get_data(as_text=True)
    assert MESSAGE in page
    assert 'value="approve"' not in page and 'value="refuse"' not in page
    assert 'value="extend"' in page  # no document is signed: still offered
    response = client.post(f"/requests/{request_id}", data={
        "action": "approve", "approve-categories": ["a_orders"], "version": str(version)})
    assert response.status_code == 403 and MESSAGE in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(AccessRequest, request_id).version == version
    approver = db.get(User, approver.id)
    approver.position, approver.signs_as = "Phó Giám đốc", Authority.DEPUTY
    db.commit()
    page = client.get(f"/requests/{request_id}").get_data(as_text=True)
    assert MESSAGE not in page and 'value="approve"' in page
