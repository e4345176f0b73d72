from __future__ import annotations

import io
import re

from sqlalchemy import select, func

from tests.helpers import kiosk_person, person_at, org
from workflow.models import Mandate, Person, User, AuditEntry


def _uid(db, name):
    return db.scalars(select(User).where(User.username == name)).one().id


def _strip(html):
    t = re.sub(r"<[^>]+>", " ", html)
    return " ".join(t.split())


def test_outsider_surfaces(client, auth, db, app):
    pid = kiosk_person(db)
    auth.login("lawyer.demo")
    for url in ["/search", f"/persons/{pid}", f"/persons/{pid}/purpose", "/requesters", "/requesters/new",
                f"/requesters/{_uid(db,'lawyer.demo')}", f"/requests/new?for={_uid(db,'relative.demo')}",
                "/requests", "/requests?view=mine", "/requests?view=overdue", "/clients", "/admin/users",
                "/statistics", "/audit", "/reads/cases" , "/requests/new"]:
        r = client.get(url)
        print("lawyer", url, r.status_code)
    r = client.get("/clients")
    print(_strip(r.data.decode())[:1500])
    m = db.scalars(select(Mandate).where(Mandate.user_id == _uid(db, "lawyer.demo"))).one()
    r = client.get(f"/clients/{m.id}/reads")
    print("reads", r.status_code, _strip(r.data.decode())[:1200])
    mr = db.scalars(select(Mandate).where(Mandate.user_id == _uid(db, "relative.demo"))).one()
    print("lawyer reads relative's mandate", client.get(f"/clients/{mr.id}/reads").status_code)
    r = client.get("/requests/new")
    print("NEWFORM", _strip(r.data.decode())[:2500])
    auth.logout()
    auth.login("relative.demo")
    print("relative /clients/reads own mandate", client.get(f"/clients/{mr.id}/reads").status_code)
    auth.logout()


def test_clerk_pages(client, auth, db, app):
    auth.login("clerk.hanoi")
    r = client.get("/requesters")
    print("INDEX", r.status_code, _strip(r.data.decode())[:1500])
    before = db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("requester.%")))
    r = client.get("/requesters/new")
    print("NEW", _strip(r.data.decode())[:2500])
    # errors: representative without org, bad username, weak password
    r = client.post("/requesters/new", data={"kind": "representative", "full_name": "Lê Văn A",
        "identity_document": "CCCD 001", "credential": "", "organisation_name": "", "username": "a b",
        "password": "password"})
    print("ERR1", r.status_code, _strip(r.data.decode())[:2000])
    r = client.post("/requesters/new", data={"kind": "lawyer", "full_name": "Lê Văn B",
        "identity_document": "CCCD 001", "credential": "", "organisation_name": "", "username": "levanb",
        "password": "a test passphrase 2026"})
    print("ERR2 lawyer without card", r.status_code, _strip(r.data.decode())[:600])
    r = client.post("/requesters/new", data={"kind": "relative", "full_name": "Lê Văn C",
        "identity_document": "CCCD 001", "organisation_name": "Công ty X", "username": "levanc",
        "password": "a test passphrase 2026"})
    print("ERR3 relative with org w/o kind", r.status_code, _strip(r.data.decode())[:600])
    r = client.post("/requesters/new", data={"kind": "relative", "full_name": "Lê Văn D",
        "identity_document": "CCCD 001", "organisation_name": "", "username": "levand",
        "password": "a test passphrase 2026"})
    print("OK", r.status_code, r.location)
    uid = _uid(db, "levand")
    r = client.get(f"/requesters/{uid}")
    print("SHOW", _strip(r.data.decode())[:2500])
    stranger = person_at(db, "TTG-HOCHIMINH", skip_kiosk=True)
    here = person_at(db, "TTG-HANOI", skip_kiosk=True)
    r = client.post(f"/requesters/{uid}/mandates", data={"identity_number": stranger.identifiers[-1].value,
        "ground": "defence", "reference": "x", "valid_from": "2026-11-30"})
    print("MAND elsewhere", r.status_code, re.findall(r'role="alert"[^>]*>(.*?)</', r.data.decode(), re.S)[:3])
    r = client.post(f"/requesters/{uid}/mandates", data={"identity_number": here.identifiers[-1].value,
        "ground": "defence", "reference": "x", "valid_from": "2026-11-30"})
    print("MAND defence relative", r.status_code, _strip(r.data.decode())[ :200])
    txt = _strip(r.data.decode())
    i = txt.find("Ghi nhận")
    print("...", txt[max(0, i-800):i+200])
    r = client.post(f"/requesters/{uid}/mandates", data={"identity_number": here.identifiers[-1].value,
        "ground": "authorisation", "reference": "Giấy ủy quyền 1/12", "valid_from": "2026-11-30"})
    print("MAND ok", r.status_code, r.location)
    m = db.scalars(select(Mandate).where(Mandate.user_id == uid)).one()
    r = client.get(f"/requesters/{uid}/mandates/{m.id}/end")
    print("END page", _strip(r.data.decode())[:1200])
    # forged: mandate of other requester under this uid, non-outsider id
    lm = db.scalars(select(Mandate).where(Mandate.user_id == _uid(db, "lawyer.demo"))).one()
    print("forged mandate", client.get(f"/requesters/{uid}/mandates/{lm.id}/end").status_code,
          client.post(f"/requesters/{uid}/mandates/{lm.id}/end").status_code)
    print("admin id", client.get(f"/requesters/{_uid(db,'admin')}").status_code,
          client.get(f"/requests/new?for={_uid(db,'admin')}").status_code,
          client.get(f"/requests/new?for={_uid(db,'clerk.hanoi')}").status_code)
    # withdraw, then stale: end the mandate page POST, withdraw again, enter request
    r = client.get(f"/requesters/{uid}/withdraw"); print("WD page", _strip(r.data.decode())[:900])
    print("withdraw", client.post(f"/requesters/{uid}/withdraw").status_code)
    print("withdraw again (stale)", client.post(f"/requesters/{uid}/withdraw").status_code)
    print("new?for withdrawn GET", client.get(f"/requests/new?for={uid}").status_code)
    r = client.post(f"/requests/new?for={uid}", content_type="multipart/form-data",
        data={"subject_kind": "person", "identity_number": here.identifiers[-1].value,
              "categories": ["episodes"], "purpose": "Gia đình cần biết", "legal_basis": "Điều 12",
              "provision": "pdf", "urgency": "normal", "channel": "written", "action": "submit",
              "scan": (io.BytesIO(b"%PDF-1.7\n%x\n"), "f.pdf")})
    print("enter after withdraw", r.status_code, re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div', r.data.decode(), re.S)[:2])
    r = client.post(f"/requesters/{uid}/mandates", data={"identity_number": here.identifiers[-1].value,
        "ground": "authorisation", "reference": "again", "valid_from": "2026-11-30"})
    print("mandate after withdraw", r.status_code)
    after = db.scalars(select(AuditEntry.action).where(AuditEntry.action.like("requester.%"))).all()
    print("AUDIT", after[-15:])
    auth.logout()


def test_csrf(client, auth, db, app):
    auth.login("clerk.hanoi")
    app.config["WTF_CSRF_ENABLED"] = True
    rel = _uid(db, "relative.demo")
    m = db.scalars(select(Mandate).where(Mandate.user_id == rel)).one()
    print("csrf new", client.post("/requesters/new", data={"kind": "relative"}).status_code)
    print("csrf mandate", client.post(f"/requesters/{rel}/mandates", data={}).status_code)
    print("csrf end", client.post(f"/requesters/{rel}/mandates/{m.id}/end").status_code)
    print("csrf withdraw", client.post(f"/requesters/{rel}/withdraw").status_code)
    print("csrf enter", client.post(f"/requests/new?for={rel}", data={"action": "submit"}).status_code)
    app.config["WTF_CSRF_ENABLED"] = False
    print("still live:", db.scalars(select(Mandate).where(Mandate.user_id == rel)).one().ended_at)


def test_kiosk(client, auth, db, app):
    auth.login("detainee.demo")
    m = db.scalars(select(Mandate).where(Mandate.user_id == _uid(db, "lawyer.demo"))).one()
    for url in ["/clients", f"/clients/{m.id}/reads", "/requesters", f"/requests/new?for={_uid(db,'relative.demo')}"]:
        print("kiosk", url, client.get(url).status_code)


def test_other_roles(client, auth, db, app):
    rel = _uid(db, "relative.demo")
    m = db.scalars(select(Mandate).where(Mandate.user_id == rel)).one()
    for u in ["clerk.hcm", "clerk.ntg", "approver.hanoi", "manager.hanoi", "admin", "requester.vks", "consent.hanoi"]:
        auth.login(u)
        codes = [client.get(x).status_code for x in ["/requesters", f"/requesters/{rel}", f"/requesters/{rel}/withdraw",
                 f"/requesters/{rel}/mandates/{m.id}/end", "/clients", f"/clients/{m.id}/reads", f"/requests/new?for={rel}"]]
        posts = [client.post(x).status_code for x in [f"/requesters/{rel}/withdraw", f"/requesters/{rel}/mandates/{m.id}/end", f"/requesters/{rel}/mandates"]]
        print(u, codes, posts)
        auth.logout()
