"""Extracts: median time to prepare (the draft) and to release (number, render, sign) a typical
two-page extract and a 100-page full record, next to bare WeasyPrint rendering the same HTML in
the same run, the time signing adds (a bare PAdES B-B signature, the B-LTA one every
document gets, and an official's own B-LT signature on a SoftHSM2 token followed by the B-LTA
seal, where SoftHSM2 is installed), and the peak memory of the 100-page case (in a fresh process).

    python bench/extract_bench.py [--backend postgresql] [--runs 15]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import scratch_url
from sqlalchemy import select
from weasyprint import CSS, HTML

from workflow import errors, schema
from workflow.context import SYSTEM, Actor
from workflow.db import make_engine, make_session_factory
from workflow.demo.world import load_demo
from workflow.documents import extracts, issuing, longterm, pki, tokens
from workflow.documents.rendering import ASSETS, Renderer
from workflow.models import (
    CustodyEpisode,
    CustodyEvent,
    Organisation,
    Person,
    RecordDocument,
    User,
)
from workflow.records.enums import DocumentCategory, EventKind
from workflow.requests import filing, kernel
from workflow.requests.enums import Channel, ProvisionForm, RequestState, SubjectKind

NOW = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)
SETTINGS = issuing.ExtractSettings(passphrase="bench")  # noqa: S106 - a scratch database
# Rows of record added per case: about 25 table rows fill a page.
ROWS = {"typical": 2, "full": 1270}


def build(url: str) -> dict[str, int]:
    """Demo data, then two persons at the Hà Nội camp with `ROWS` documents and events each,
    and an approved request about each by the provincial police's own requester."""
    engine = make_engine(url)
    schema.upgrade(engine)
    ids = {}
    with make_session_factory(engine)() as session:
        load_demo(session, SYSTEM, persons=300, seed=2017)
        camp = session.scalars(select(Organisation).where(
            Organisation.code == "TTG-HANOI")).one()
        kiosk = set(session.scalars(select(User.person_id).where(User.person_id.is_not(None))))
        persons = [p for p in session.scalars(select(Person).join(CustodyEpisode).where(
            CustodyEpisode.facility_id == camp.id).order_by(Person.id)).unique()
            if p.id not in kiosk and {e.facility_id for e in p.episodes} == {camp.id}
            and all(e.case_id is None or e.case.stage_on(NOW.date()).stage.value
                    in ("closed", "enforcement", "suspended") for e in p.episodes)]
        requester = session.scalars(select(User).where(User.username == "approver.hanoi")).one()
        for (name, rows), person in zip(ROWS.items(), persons, strict=False):
            episode = person.episodes[-1]
            day = episode.start_date
            for i in range(rows):
                session.add(RecordDocument(
                    person_id=person.id, episode_id=episode.id,
                    category=DocumentCategory.ORDERS, title=f"Quyết định gia hạn tạm giam {i}",
                    number=f"{i}/QĐ-GHTG", issued_on=day, issuer="Cơ quan Cảnh sát điều tra",
                    summary="Gia hạn thời hạn tạm giam để phục vụ điều tra vụ án"))
                session.add(CustodyEvent(episode_id=episode.id, kind=EventKind.VISIT,
                                         occurred_on=day, note=f"Thăm gặp thân nhân lần {i}",
                                         document_number=f"{i}/TG"))
            session.flush()
            ids[name] = _approved_request(session, requester, person)
        session.commit()
    engine.dispose()
    return ids


def _approved_request(session, approver: User, person: Person) -> int:
    """A request by the approver's own body about a person in its scope: direct access."""
    actor = Actor(approver, "bench", NOW)
    data = filing.RequestInput(
        channel=Channel.NETWORK, subject_kind=SubjectKind.PERSON, purpose="Đo hiệu năng",
        legal_basis="Điều 12 Nghị định 121/2017/NĐ-CP", provision=ProvisionForm.PDF,
        categories=["a_orders", "episodes", "events", "c_identity", "case"],
        identity_number=person.identifiers[-1].value)
    # The approver files as a requester of its own body: give it the role for the bench only.
    from workflow.enums import Role
    from workflow.models import UserRole

    if not approver.has_role(Role.REQUESTER):
        session.add(UserRole(user_id=approver.id, role=Role.REQUESTER))
        session.flush()
        session.refresh(approver)
    request = filing.file_request(session, actor, data)
    filing.submit(session, kernel.Workflow(), actor, request.id)
    assert request.state is RequestState.APPROVED, request.state
    return request.id


class _Captured(Exception):
    """Stops a preparation once its HTML is known."""


def full_html(sessions, request_id: int) -> str:
    """The extract's HTML as one document (what bare WeasyPrint is given)."""
    original = Renderer.render_parts

    def capture(self, template, context, parts):
        sections = [section for part in parts for section in part]
        raise _Captured(self.html(template, context | {"sections": sections}))

    Renderer.render_parts = capture
    try:
        with sessions() as session:
            extracts.prepare_extract(session, SETTINGS, _actor(session), request_id)
    except errors.DocumentFailed as failed:  # the renderer's errors arrive wrapped
        if isinstance(failed.__cause__, _Captured):
            return failed.__cause__.args[0]
        raise
    finally:
        Renderer.render_parts = original
    raise AssertionError("the extract was not rendered")


def _actor(session) -> Actor:
    return Actor(session.scalars(select(User).where(User.username == "approver.hanoi")).one(),
                 "bench", NOW)


def bare_render(html: str) -> bytes:
    """Bare WeasyPrint: the same HTML and stylesheet, default fetcher and fonts."""
    return HTML(string=html, base_url=ASSETS.as_uri() + "/").write_pdf(
        stylesheets=[CSS(filename=str(ASSETS / "document.css"))])


def measure(url: str, request_id: int, runs: int) -> dict:
    """Prepare the extract `runs` times (each rolled back), render its HTML bare as often, and
    sign its PDF as often; medians after one warm-up run each."""
    sessions = make_session_factory(make_engine(url))
    with sessions() as session:
        # The certificates an installation keeps (the body's seal, the development TSA's): made
        # once and kept, as they are in use; the timed runs are rolled back and would otherwise
        # make them again each time.
        org = session.scalars(select(Organisation).where(Organisation.code == "CA-HANOI")).one()
        pki.org_credential(session, org, SETTINGS.passphrase, NOW)
        longterm.timestamper(session, SETTINGS.passphrase, NOW, tsa_url=None, dev=True,
                             crl_url=None)
        session.commit()
    full, issued, pages, product = [], [], 0, b""
    for _ in range(runs + 1):
        with sessions() as session:
            actor = _actor(session)
            started = time.perf_counter()
            document = extracts.prepare_extract(session, SETTINGS, actor, request_id)
            full.append((time.perf_counter() - started) * 1000)
            pages = document.pages
            # What signing is measured on: the product's own unsigned PDF (bare WeasyPrint's
            # keeps every row's id as a named destination, which the product never writes).
            product = document.pdf
            extracts.preview(session, actor, document.id)
            started = time.perf_counter()
            extracts.release_extract(session, kernel.Workflow(), SETTINGS, actor, request_id,
                                     document_id=document.id, sha256=document.sha256)
            issued.append((time.perf_counter() - started) * 1000)
            session.rollback()
    html = full_html(sessions, request_id)
    bare, unsigned = [], product
    for _ in range(runs + 1):
        started = time.perf_counter()
        bare_render(html)
        bare.append((time.perf_counter() - started) * 1000)
    with sessions() as session:
        org = session.scalars(select(Organisation).where(Organisation.code == "CA-HANOI")).one()
        signer = pki.signer_for(pki.org_credential(session, org, SETTINGS.passphrase, NOW),
                                SETTINGS.passphrase)
        stamper = longterm.timestamper(session, SETTINGS.passphrase, NOW, tsa_url=None,
                                       dev=True, crl_url=None)
        context = longterm.signing_context(session, SETTINGS.passphrase, fetch=False)
        session.commit()
    signing, lasting, personal = [], [], []
    module = tokens.default_module()
    token = tokens.TokenSettings(module=module)
    if module:
        with sessions() as session:
            official = tokens.enrol_dev(session, token, _actor(session).user, "246810",
                                        passphrase=SETTINGS.passphrase, now=NOW, crl_url=None)
            session.commit()
            session.expunge(official)
    for _ in range(runs + 1 if module else 0):
        started = time.perf_counter()
        with tokens.opened(token, official, "246810") as own:
            half = pki.sign_pdf(unsigned, own, reason="bench", location="Hà Nội", name="bench",
                                timestamper=stamper, context=context, archive=False)
        pki.sign_pdf(half, signer, reason="bench", location="Hà Nội", name="bench",
                     timestamper=stamper, context=context, field_name="Seal")
        personal.append((time.perf_counter() - started) * 1000)
    if module:  # the releases measured above and next are the seal's alone
        with sessions() as session:
            session.merge(official).active = False
            session.commit()
    for _ in range(runs + 1):
        started = time.perf_counter()
        pki.sign_pdf(unsigned, signer, reason="bench", location="Hà Nội", name="bench")
        signing.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        pki.sign_pdf(unsigned, signer, reason="bench", location="Hà Nội", name="bench",
                     timestamper=stamper, context=context)
        lasting.append((time.perf_counter() - started) * 1000)
    return {"pages": pages, "full": statistics.median(full[1:]),
            "release": statistics.median(issued[1:]),
            "bare": statistics.median(bare[1:]), "sign": statistics.median(signing[1:]),
            "lta": statistics.median(lasting[1:]),
            "personal": statistics.median(personal[1:]) if personal else float("nan")}


def child_peak(url: str, request_id: int, mode: str) -> None:
    """In a fresh process: prepare the extract once (or render it bare) and print the peak
    resident memory, and what it was before."""
    sessions = make_session_factory(make_engine(url))
    html = full_html(sessions, request_id) if mode == "bare" else ""
    with sessions() as session:
        actor = _actor(session)
        before = _reset_high_water_mb()
        if mode == "bare":
            bare_render(html)
        else:
            extracts.prepare_extract(session, SETTINGS, actor, request_id)
        peak = _high_water_mb()
        session.rollback()
    print(f"{peak:.0f} {before:.0f}")


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith(f"{field}:"))
    return int(line.split()[1]) / 1024


def _reset_high_water_mb() -> float:
    """Reset the peak resident size to the current one (imports peak higher than they keep) and
    return the current resident size."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _status_mb("VmRSS")


def _high_water_mb() -> float:
    return _status_mb("VmHWM")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_peak(args.child[0], int(args.child[1]), args.child[2])
        return
    url, drop = scratch_url(args.backend, None)
    tokens_dir = tempfile.TemporaryDirectory()  # the bench's own SoftHSM2 tokens
    tokens.use_token_directory(Path(tokens_dir.name))  # unless SOFTHSM2_CONF names one
    try:
        ids = build(url)
        print(f"extract bench on {args.backend}, median of {args.runs} runs (prepare = query + "
              "render the draft + store; release = query + number + render + B-LTA sign + "
              "store)")
        print(f"{'case':<8} {'pages':>5} {'prepare':>10} {'release':>10} {'bare':>10} "
              f"{'ratio':>6} {'ratio':>6} {'B-B sign':>9} {'B-LTA sign':>11} "
              f"{'official+seal':>14}")
        for name, request_id in ids.items():
            runs = args.runs if name == "typical" else max(3, args.runs // 5)
            got = measure(url, request_id, runs)
            print(f"{name:<8} {got['pages']:>5} {got['full']:>8.0f}ms {got['release']:>8.0f}ms "
                  f"{got['bare']:>8.0f}ms {got['full'] / got['bare']:>5.2f}x "
                  f"{got['release'] / got['bare']:>5.2f}x {got['sign']:>7.1f}ms "
                  f"{got['lta']:>9.1f}ms {got['personal']:>12.1f}ms")
        for mode, what in (("prepare", "preparing"), ("bare", "bare WeasyPrint rendering")):
            peak, before = subprocess.run(
                [sys.executable, __file__, "--child", url, str(ids["full"]), mode],
                check=True, capture_output=True, text=True).stdout.split()
            print(f"peak memory {what} the full extract: {peak} MB resident, "
                  f"{int(peak) - int(before)} MB above the {before} MB the process held before")
    finally:
        drop()
        tokens_dir.cleanup()


if __name__ == "__main__":
    main()
