"""The 12 findings of issue 12, tried against a served app.

    .venv/bin/python scripts/attack_served.py [--workers W] [--keep]

Makes a scratch PostgreSQL database (custody_attack_<random>), runs `custody init` and `custody
demo` on it, creates through the command line what the attacks need (system accounts and their
tokens, a trusted exchange key, a colleague requester, victims for the lockout), serves it with
`custody serve` (gunicorn) on a free port, and then tries each finding the way the issue tells it:
over HTTP as a browser would (sign-in with password and authenticator code, CSRF tokens scraped
from the forms) or with a bearer token, and through the command line or as a database superuser
where the finding is about them. Every attempt prints one line: the finding, what was tried, what
came back and whether the app REFUSED it or it GOT THROUGH. Lines marked "control" show that the
same path works for whoever may use it, so that a refusal means something.

Exit status: 0 when everything was refused, 1 when anything got through, 2 when an attempt could
not be judged (a control failed, or an error). The database is dropped and the server stopped at
the end, also on failure (--keep leaves both for a look).

Rate limits on sign-in and on the code step are raised for the server (the script signs a dozen
accounts in); the filing limit is left as served, since finding 9 is about it. Where a finding
needs time to pass (an overdue request, an expired token) the date is moved in the database, and
the line says so."""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pyotp
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG = os.environ.get("ATTACK_PG", "postgresql://postgres@127.0.0.1:5432")
PASSWORD = "một cụm từ đủ dài cho phép thử tấn công"  # noqa: S105 - accounts of a scratch database
VN = ZoneInfo("Asia/Ho_Chi_Minh")
STEP = 30  # TOTP time step


class Stop(Exception):
    """Setup failed: nothing more can be tried."""


# --- what was tried and what came of it -----------------------------------------------------

VERDICTS = {True: "REFUSED", False: "GOT THROUGH"}
results: list[tuple[str, str]] = []  # (label, verdict)


def line(label: str, tried: str, outcome: str, verdict: str) -> None:
    results.append((label, verdict))
    print(f"{label:<4} {tried} -> {outcome}: {verdict}", flush=True)


def judge(label: str, tried: str, outcome: str, refused: bool) -> None:
    line(label, tried, outcome, VERDICTS[refused])


def control(label: str, tried: str, outcome: str, ok: bool) -> None:
    line(label, f"(control) {tried}", outcome, "OK" if ok else "CONTROL FAILED")


def attempt(label: str, work) -> None:
    """Run one finding's attempts; an exception is reported as an error, not as a pass."""
    try:
        work()
    except Exception as error:  # noqa: BLE001 - reported and judged, the run goes on
        traceback.print_exc(file=sys.stderr)
        line(label, "attempt could not be completed", f"{type(error).__name__}: {error}",
             "ERROR")


# --- the scratch database, the command line and the server ----------------------------------


class Database:
    """The scratch database, as its superuser."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = f"{PG}/{name}"
        self.conn: psycopg.Connection | None = None

    def create(self) -> None:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def q(self, sql: str, *params) -> list[tuple]:
        if self.conn is None:
            self.conn = psycopg.connect(self.url, autocommit=True)
            self.conn.execute("SET TIME ZONE 'UTC'")
        cursor = self.conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []

    def one(self, sql: str, *params):
        rows = self.q(sql, *params)
        return rows[0][0] if rows else None


class Installation:
    """`custody` commands and the served app, sharing one environment."""

    def __init__(self, db: Database, work: Path) -> None:
        self.db, self.work = db, work
        self.env = dict(
            os.environ, DATABASE_URL=f"postgresql+psycopg://{db.url.split('://', 1)[1]}",
            SECRET_KEY=secrets.token_hex(32),
            CUSTODY_AUDIT_SIGNING_KEY=str(work / "audit-signing-key.pem"),
            CUSTODY_AUDIT_WITNESS_LOG=str(work / "audit-witness.log"),
            CUSTODY_EXCHANGE_SIGNING_KEY=str(work / "exchange-signing-key.pem"),
            # This script signs a dozen accounts in: the sign-in and code limits per address are
            # raised (finding 6 is then about the lockout alone). The filing limit stays as served.
            CUSTODY_RATELIMIT_SIGN_IN='"10000 per minute"',
            CUSTODY_RATELIMIT_CODE='"10000 per minute"')
        self.env.pop("CUSTODY_EXCHANGE_ACCOUNT", None)
        self.server: subprocess.Popen | None = None
        self.base = ""

    def custody(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([str(BIN / "custody"), *args], env=self.env, cwd=ROOT,  # noqa: S603
                              capture_output=True, text=True, timeout=900, check=False)
        if check and done.returncode != 0:
            raise Stop(f"custody {' '.join(args)} failed ({done.returncode}): "
                       f"{(done.stderr or done.stdout).strip()[-600:]}")
        return done

    def user(self, username: str, org: str, role: str, *, system: bool = False) -> int:
        self.custody("create-user", "--username", username, "--full-name", f"Tấn công {username}",
                     "--org", org, "--role", role, "--password", PASSWORD,
                     *(["--system"] if system else []))
        return self.db.one("SELECT id FROM app_user WHERE username = %s", username)

    def token(self, username: str, name: str) -> tuple[int, str]:
        token = self.custody("create-token", "--username", username, "--name", name
                             ).stdout.strip().splitlines()[-1]
        token_id = self.db.one("SELECT max(t.id) FROM api_token t JOIN app_user u "
                               "ON u.id = t.user_id WHERE u.username = %s AND t.name = %s",
                               username, name)
        return token_id, token

    def serve(self, workers: int | None) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        log = (self.work / "gunicorn.log").open("w")
        self.server = subprocess.Popen(  # noqa: S603
            [str(BIN / "custody"), "serve", "--port", str(port),
             *(["--workers", str(workers)] if workers else [])],
            env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            if self.server.poll() is not None:
                raise Stop(f"the server ended at once; see {self.work / 'gunicorn.log'}")
            try:
                if requests.get(f"{self.base}/login", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise Stop("the server did not answer within a minute")

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()


# --- a browser: forms, CSRF tokens, two-factor sign-in --------------------------------------


class Forms(HTMLParser):
    """Every form of a page with the values a browser would send (checked boxes, selected
    options, hidden fields); buttons are left out (the caller names the one it presses)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: dict | None = None
        self._textarea: list | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action"), "fields": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form["fields"].append((a["name"], a.get("value") or (
                "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select":
            self._select = {"name": a.get("name"), "first": None, "chosen": []}
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in a:
                self._select["chosen"].append(value)
        elif tag == "textarea":
            self._textarea = [a.get("name"), ""]

    def handle_data(self, data) -> None:
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag) -> None:
        if tag == "select" and self._select is not None:
            chosen = self._select["chosen"] or ([self._select["first"]]
                                                if self._select["first"] is not None else [])
            if self._form is not None and self._select["name"]:
                self._form["fields"] += [(self._select["name"], v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            if self._form is not None and self._textarea[0]:
                self._form["fields"].append((self._textarea[0],
                                             self._textarea[1].removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None


def find_form(html: str, *, field: str | None = None, value: tuple[str, str] | None = None,
              action: str | None = None) -> dict:
    """The first form holding a field (or a field with a value, or posting to an address)."""
    for form in Forms(html).forms:
        names = [n for n, _ in form["fields"]]
        if field and field not in names:
            continue
        if value and value not in form["fields"]:
            continue
        if action and form["action"] != action:
            continue
        return form
    text = re.sub(r"\s+", " ", html)[:300]
    raise LookupError(f"no form with {field or value or action} on the page: {text}")


def fill(form: dict, changes: dict) -> list[tuple[str, str]]:
    """The form's fields with some replaced (a list: several values; None: left out)."""
    fields = [(n, v) for n, v in form["fields"] if n not in changes]
    for name, value in changes.items():
        if value is None:
            continue
        for one in value if isinstance(value, list) else [value]:
            fields.append((name, str(one)))
    return fields


class Browser:
    """One person's browser on the served app."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.base + path, timeout=120, **kw)

    def post(self, path: str, data, **kw) -> requests.Response:
        return self.http.post(self.base + path, data=data, timeout=120, **kw)

    def submit(self, path: str, changes: dict, *, page: str | None = None, field: str | None = None,
               value: tuple[str, str] | None = None, action: str | None = None,
               files: dict | None = None, follow: bool = False, headers: dict | None = None,
               forge: bool = False) -> requests.Response:
        """Open the page at `path` (unless given), fill its form and send it there; `forge`:
        when the page offers no such form, send the fields with the session's CSRF token, as an
        attacker who knows the form would."""
        html = page if page is not None else self.get(path).text
        try:
            form = find_form(html, field=field, value=value, action=action)
        except LookupError:
            if not forge:
                raise
            form = {"action": None, "fields": [("csrf_token", self.csrf())]}
        target = form["action"] or path
        return self.post(target, fill(form, changes), files=files, allow_redirects=follow,
                         headers=headers)

    def csrf(self) -> str:
        return dict(find_form(self.get("/").text, field="csrf_token")["fields"])["csrf_token"]


class People:
    """Signs people in as a browser does, and keeps their authenticators."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.secrets: dict[str, str] = {}
        self.last_step: dict[str, int] = {}
        self.signed_in: dict[str, Browser] = {}

    def code(self, username: str) -> str:
        """A code the server has not accepted yet (each is accepted once; the server takes one
        step either side of its clock)."""
        while True:
            now = int(time.time()) // STEP
            step = max(now, self.last_step.get(username, -1) + 1)
            if step <= now + 1:
                self.last_step[username] = step
                return pyotp.TOTP(self.secrets[username]).at(step * STEP)
            time.sleep(1)

    def wrong_code(self, username: str) -> str:
        """Six digits the authenticator does not show around now."""
        totp, now = pyotp.TOTP(self.secrets[username]), int(time.time()) // STEP
        valid = {totp.at((now + i) * STEP) for i in range(-2, 4)}
        return next(c for c in (f"{secrets.randbelow(10**6):06d}" for _ in range(100))
                    if c not in valid)

    def password_step(self, username: str, password: str) -> tuple[Browser, requests.Response]:
        browser = Browser(self.base)
        answer = browser.submit("/login", {"username": username, "password": password,
                                           "acknowledge": "y"}, field="username")
        return browser, answer

    def sign_in(self, username: str, password: str | None = None) -> Browser:
        """Password, then the code (enrolling the authenticator the first time, reading its key
        from the enrolment page)."""
        if username in self.signed_in:
            return self.signed_in[username]
        browser, answer = self.password_step(username, password or self.password_of(username))
        target = answer.headers.get("Location", "")
        if answer.status_code != 302 or "/login/" not in target:
            raise Stop(f"{username}: the password step answered {answer.status_code}")
        if "/login/enrol" in target:
            page = browser.get("/login/enrol").text
            found = re.search(r'id="totp-secret">([^<]+)<', page)
            if not found:
                raise Stop(f"{username}: no authenticator key on the enrolment page")
            self.secrets[username] = found.group(1).replace(" ", "")
            done = browser.submit("/login/enrol", {"code": self.code(username)}, page=page,
                                  field="code")
        else:
            done = browser.submit("/login/code", {"code": self.code(username)}, field="code")
        home = browser.get("/")
        if done.status_code not in (200, 302) or "/login" in home.url or home.status_code != 200:
            raise Stop(f"{username}: the code step answered {done.status_code}")
        self.signed_in[username] = browser
        return browser

    def kiosk(self, clerk: str, person_id: int) -> Browser:
        """A browser the clerk registers as the facility's kiosk and puts in kiosk mode, with
        the demo detainee signed in at it by record number and the demo PIN."""
        browser = self.sign_in(clerk)
        del self.signed_in[clerk]  # kiosk mode signs the clerk out of this browser
        browser.submit("/kiosk/devices", {"name": "Máy tra cứu thử tấn công"}, field="name")
        page = browser.get("/kiosk/devices").text
        start = re.findall(r'action="(/kiosk/devices/\d+/start)"', page)
        if not start:
            raise Stop("the kiosk device could not be registered")
        browser.submit(start[-1], {}, page=page, action=start[-1])
        signed = browser.submit("/kiosk/", {"number": str(person_id), "pin": "271017"},
                                field="pin")
        if signed.status_code != 302:
            raise Stop(f"the kiosk sign-in answered {signed.status_code}")
        return browser

    @staticmethod
    def password_of(username: str) -> str:
        return f"{username}#2026" if not username.startswith("attack.") else PASSWORD


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def api(base: str, method: str, path: str, token: str, **kw) -> requests.Response:
    return requests.request(method, f"{base}/api/v1{path}", headers=bearer(token), timeout=300,
                            **kw)


def today() -> dt.date:
    return dt.datetime.now(VN).date()


def brief(response: requests.Response) -> str:
    """The status and, for JSON, its error message."""
    try:
        body = response.json()
    except ValueError:
        return str(response.status_code)
    message = body.get("error") if isinstance(body, dict) else None
    return f"{response.status_code} {str(message)[:110]!r}" if message else str(
        response.status_code)


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1][:160] if lines else ""


def alerts(html: str) -> list[str]:
    """The messages flashed on a page."""
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(
        r'<div class="alert alert-\w+" role="status">(.*?)</div>', html, re.S)]


def shown_error(html: str) -> str:
    """The first error message a page shows."""
    found = re.search(r'class="[^"]*(?:error|errors|flash-error)[^"]*"[^>]*>(.*?)</', html, re.S)
    return re.sub(r"\s+", " ", found.group(1)).strip()[:110] if found else ""


# --- the world the attacks need -------------------------------------------------------------


class World:
    """Demo data plus what the command line creates for the attacks."""

    def __init__(self, app: Installation) -> None:
        self.app, self.db = app, app.db

    def prepare(self) -> None:
        app, db = self.app, self.db
        started = time.perf_counter()
        app.custody("init")
        app.custody("demo")
        self.ids = {}
        for username, org, role, system in [
            ("exchange.army", "QP-QL", "exchange", True),
            ("exchange.centre", "TTCSDL", "exchange", True),
            ("system.vks", "VKS-HANOI", "requester", True),
            ("attack.sys8", "VKS-HANOI", "requester", True),
            ("attack.sys8lock", "VKS-HANOI", "requester", True),
            ("attack.vks2", "VKS-HANOI", "requester", False),
            ("attack.filer", "VKS-HANOI", "requester", False),
            ("attack.victim1", "VKS-HANOI", "requester", False),
            ("attack.victim2", "VKS-HANOI", "requester", False),
            ("attack.admin2", "TTCSDL", "admin", False),
        ]:
            self.ids[username] = app.user(username, org, role, system=system)
        self.tokens = {name: app.token(user, name) for user, name in [
            ("exchange.army", "army-exchange"), ("exchange.centre", "centre-exchange"),
            ("system.vks", "vks-software"), ("attack.sys8", "t8-cli-revoke"),
            ("attack.sys8", "t8-page-revoke"), ("attack.sys8", "t8-expires"),
            ("attack.sys8", "t8-disabled"), ("attack.sys8lock", "t8-locked")]}
        # The Army installation's own exchange key, trusted by this one for QP-QL's packages.
        army_key = Ed25519PrivateKey.generate()
        self.army_key = army_key
        (app.work / "army.pub").write_bytes(army_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        app.custody("exchange", "trust", "QP-QL", str(app.work / "army.pub"))
        for username in ("admin", "approver.hanoi"):
            self.ids[username] = db.one("SELECT id FROM app_user WHERE username = %s", username)
        self.detainee_person = db.one(
            "SELECT person_id FROM app_user WHERE username = 'detainee.demo'")
        # A Hà Nội person held at the Hà Nội camp only, under a case investigated by CSĐT Hà Nội
        # (so requests about them need its consent), with classified documents; not the kiosk's.
        row = db.q("""
            SELECT p.id, c.id, c.number, f.name,
                   (SELECT value FROM person_identifier i WHERE i.person_id = p.id
                     ORDER BY i.id DESC LIMIT 1)
              FROM person p
              JOIN custody_episode e ON e.person_id = p.id
              JOIN organisation f ON f.id = e.facility_id AND f.code = 'TTG-HANOI'
              JOIN criminal_case c ON c.id = e.case_id
              JOIN LATERAL (SELECT * FROM case_stage s WHERE s.case_id = c.id
                             ORDER BY s.from_date DESC, s.id DESC LIMIT 1) st ON TRUE
              JOIN organisation h ON h.id = st.handling_org_id AND h.code = 'CSDT-HANOI'
             WHERE st.stage = 'investigation' AND p.id <> %s
               AND NOT EXISTS (SELECT 1 FROM custody_episode o WHERE o.person_id = p.id
                               AND o.facility_id <> e.facility_id)
               AND EXISTS (SELECT 1 FROM record_document d WHERE d.person_id = p.id
                           AND d.secrecy <> 'none')
             ORDER BY p.id LIMIT 1""", self.detainee_person)
        if not row:
            raise Stop("the demo has no Hà Nội person under investigation with classified "
                       "documents")
        (self.target_person, self.case_id, self.case_number, self.facility_name,
         self.target_identity) = row[0]
        self.hcm_person = db.one("""
            SELECT e.person_id FROM custody_episode e JOIN organisation f ON f.id = e.facility_id
             WHERE f.code = 'TTG-HOCHIMINH' AND NOT EXISTS (
                   SELECT 1 FROM custody_episode o WHERE o.person_id = e.person_id
                      AND o.facility_id <> e.facility_id)
             ORDER BY e.person_id LIMIT 1""")
        self.org = dict(db.q("SELECT code, id FROM organisation"))
        print(f"prepared in {time.perf_counter() - started:.0f} s: demo data, "
              f"{len(self.ids) - 2} accounts, {len(self.tokens)} tokens, QP-QL's key trusted",
              flush=True)


# --- the findings ---------------------------------------------------------------------------


def finding_1(w: World, people: People) -> None:
    base, db = w.app.base, w.db
    _, army = w.tokens["army-exchange"]
    taken = api(base, "POST", "/exchange/packages/export", army, json={"source": "TTCSDL"})
    out = db.one("SELECT count(*) FROM exchange_package WHERE direction = 'out' "
                 "AND source = 'TTCSDL'")
    judge("1", "exchange.army (QP-QL) asks POST /api/v1/exchange/packages/export "
          '{"source": "TTCSDL"}', f"{brief(taken)}; records in the answer: "
          f"{len(taken.json().get('records', [])) if taken.ok else 0}; TTCSDL packages out: {out}",
          taken.status_code in (403, 404) and "records" not in taken.text and out == 0)
    file = w.app.work / "taken.json"
    cli = w.app.custody("exchange", "export", "--account", "exchange.army", "--source", "TTCSDL",
                        "--out", str(file), check=False)
    out = db.one("SELECT count(*) FROM exchange_package WHERE direction = 'out' "
                 "AND source = 'TTCSDL'")
    judge("1b", "custody exchange export --account exchange.army --source TTCSDL",
          f"exit {cli.returncode}, file written: {file.exists()}, TTCSDL packages out: {out}",
          cli.returncode != 0 and not file.exists() and out == 0)
    own = api(base, "POST", "/exchange/packages/export", army, json={"source": "QP-QL"})
    w.army_package = own.json() if own.ok else None
    control("1", "exchange.army exports its own body's package (QP-QL)",
            f"{brief(own)}, sequence {own.json().get('sequence') if own.ok else '-'}, "
            f"{len(own.json().get('records', [])) if own.ok else 0} record versions",
            own.status_code == 200 and own.json().get("sequence") == 1)


def _signed(body: dict, key: Ed25519PrivateKey) -> dict:
    body = {k: v for k, v in body.items() if k != "signature"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False,
                           separators=(",", ":")).encode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return {**body, "signature": {"key_id": hashlib.sha256(public).hexdigest()[:16],
                                  "value": key.sign(canonical).hex()}}


def finding_2(w: World, people: People) -> None:
    base, db = w.app.base, w.db
    if not w.army_package:
        raise Stop("no package of QP-QL to start from (control 1 failed)")
    records = w.army_package["records"]
    episode = next(r for r in records if r["type"] == "episode")
    person_id = episode["data"]["person_id"]
    marker = f"Giả Mạo {secrets.token_hex(3)}"
    kept = [copy.deepcopy(r) for r in records
            if (r["type"] == "person" and r["id"] == person_id)
            or (r["type"] == "identifier" and r["data"].get("person_id") == person_id)
            or r is episode]
    for record in kept:
        if record["type"] == "person":
            record["data"]["full_name"] = marker
        if record["type"] == "identifier":
            record["data"]["value"] = f"0{secrets.randbelow(10**11):011d}"
        if record["type"] == "episode":
            record["data"]["case_id"] = None
    package = {**{k: v for k, v in w.army_package.items() if k != "signature"},
               "records": kept, "stages": []}
    forged = copy.deepcopy(package)
    next(r for r in forged["records"] if r["type"] == "episode")["data"]["facility"] = "TTG-HANOI"
    before = db.one("SELECT count(*) FROM person")
    _, centre = w.tokens["centre-exchange"]
    sent = api(base, "POST", "/exchange/packages", centre, json=_signed(forged, w.army_key))
    created = db.one("SELECT count(*) FROM person WHERE full_name = %s", marker)
    applied = db.one("SELECT count(*) FROM exchange_package WHERE direction = 'in'")
    after = db.one("SELECT count(*) FROM person")
    judge("2", "package signed with QP-QL's trusted key, a new person held at TTG-HANOI, "
          "imported by exchange.centre (POST /api/v1/exchange/packages)",
          f"{brief(sent)}; persons created: {created} (all: {before} -> {after}); "
          f"packages applied: {applied}",
          sent.status_code in (403, 422) and created == 0 and applied == 0)
    fair = api(base, "POST", "/exchange/packages", centre, json=_signed(package, w.army_key))
    control("2", "the same package with the episode at QP-QL's own facility",
            f"{brief(fair)}, created {fair.json().get('created') if fair.ok else '-'}, "
            f"sequence {fair.json().get('sequence') if fair.ok else '-'}",
            fair.status_code == 200 and fair.json().get("created") == len(kept)
            and fair.json().get("sequence") == 1)


def _new_person_fields(w: World, case_number: str) -> dict:
    return {"full_name": "Lê Văn Thử", "birth_date": "1990-04-05", "sex": "male",
            "nationality": "Việt Nam", "place_of_origin": "TP Hồ Chí Minh", "id_kind": "cccd",
            "id_value": f"079090{secrets.randbelow(10**6):06d}", "id_issued_on": "2022-01-10",
            "id_country": "", "facility_id": w.org["TTG-HOCHIMINH"], "measure": "detention",
            "start_date": (today() - dt.timedelta(days=2)).isoformat(),
            "legal_basis": "Lệnh tạm giam số 13/LTG", "case_number": case_number}


def finding_3(w: World, people: People) -> None:
    db = w.db
    clerk = people.sign_in("clerk.hcm")

    def under_case() -> list:
        return db.q("SELECT f.code, count(*) FROM custody_episode e JOIN organisation f "
                    "ON f.id = e.facility_id WHERE e.case_id = %s GROUP BY f.code ORDER BY 1",
                    w.case_id)

    def stages() -> list:
        return db.q("SELECT stage, handling_org_id, from_date FROM case_stage WHERE case_id = %s "
                    "ORDER BY id", w.case_id)

    facilities, history = under_case(), stages()
    fields = _new_person_fields(w, w.case_number)
    linked = clerk.submit("/persons/new", fields, field="full_name")
    made = db.one("SELECT count(*) FROM person_identifier WHERE value = %s", fields["id_value"])
    judge("3", f"clerk.hcm registers a person at TTG-HOCHIMINH under Hà Nội's case "
          f"{w.case_number} (POST /persons/new)",
          f"{linked.status_code} {shown_error(linked.text)!r}; person created: {made}; "
          f"facilities under the case: {under_case()}",
          linked.status_code != 302 and made == 0 and under_case() == facilities)
    episodes = db.one("SELECT count(*) FROM custody_episode WHERE person_id = %s", w.hcm_person)
    more = clerk.submit(f"/persons/{w.hcm_person}/episodes/new", {
        "facility_id": w.org["TTG-HOCHIMINH"], "measure": "detention",
        "start_date": (today() - dt.timedelta(days=1)).isoformat(),
        "legal_basis": "Lệnh tạm giam số 14/LTG", "case_number": w.case_number},
        field="case_number")
    now = db.one("SELECT count(*) FROM custody_episode WHERE person_id = %s", w.hcm_person)
    judge("3b", f"clerk.hcm opens an episode of an HCM person under {w.case_number} "
          f"(POST /persons/{w.hcm_person}/episodes/new)",
          f"{more.status_code}; episodes {episodes} -> {now}; facilities under the case: "
          f"{under_case()}",
          more.status_code != 302 and under_case() == facilities)

    def answer(number: str) -> tuple[int, str]:
        page = clerk.submit("/persons/new", _new_person_fields(w, number), field="full_name")
        text = re.sub(r'value="[^"]*"', 'value=""', page.text.replace(number, "<number>"))
        return page.status_code, text

    kept, unknown = answer(w.case_number), answer("99/2026/KHONG-CO")
    judge("3c", "clerk.hcm probes: Hà Nội's case number vs a number no case has (POST "
          "/persons/new, pages compared without the number and the field values)",
          f"{kept[0]} vs {unknown[0]}, pages {'identical' if kept == unknown else 'DIFFER'}",
          kept == unknown and kept[0] != 302)
    seen = clerk.get(f"/cases/{w.case_id}")
    closed = clerk.post(f"/cases/{w.case_id}", {
        "csrf_token": clerk.csrf(), "stage": "closed", "handling_org_id": "0",
        "from_date": today().isoformat(), "note": ""}, allow_redirects=False)
    judge("3d", f"clerk.hcm reads and closes Hà Nội's case (GET, POST /cases/{w.case_id} "
          "stage=closed)", f"GET {seen.status_code}, POST {closed.status_code}; stages "
          f"{len(history)} -> {len(stages())}, last {stages()[-1][0]}",
          seen.status_code == 404 and closed.status_code in (403, 404) and stages() == history)


def finding_4(w: World, people: People) -> None:
    db = w.db
    admin = people.sign_in("admin")

    def account(user_id: int) -> tuple:
        roles = sorted(r[0] for r in db.q("SELECT role FROM user_role WHERE user_id = %s",
                                          user_id))
        return roles, db.one("SELECT clearance FROM app_user WHERE id = %s", user_id)

    me, before = w.ids["admin"], account(w.ids["admin"])
    took = admin.submit(f"/admin/users/{me}", {"roles": ["admin", "clerk", "approver"],
                                               "clearance": "toi_mat", "active": "y"},
                        field="roles", forge=True)
    judge("4", f"admin gives itself clerk + approver and Tối mật (POST /admin/users/{me}, "
          "the fields sent although its own page offers no form)",
          f"{took.status_code} {shown_error(took.text)!r}; roles/clearance {before} -> "
          f"{account(me)}", took.status_code != 302 and account(me) == before)
    other, before = w.ids["attack.admin2"], account(w.ids["attack.admin2"])
    given = admin.submit(f"/admin/users/{other}", {"roles": ["admin", "clerk"],
                                                   "clearance": "toi_mat", "active": "y"},
                         field="roles", forge=True)
    judge("4b", f"admin gives another administrator (attack.admin2) the clerk role "
          f"(POST /admin/users/{other})", f"{given.status_code} {shown_error(given.text)!r}; "
          f"{before} -> {account(other)}", account(other) == before)
    made = admin.submit("/admin/users/new", {
        "username": "attack.admin3", "full_name": "Quản trị và cán bộ",
        "organisation_id": w.org["TTCSDL"], "roles": ["admin", "clerk"],
        "clearance": "tuyet_mat", "password": PASSWORD}, field="username")
    exists = db.one("SELECT count(*) FROM app_user WHERE username = 'attack.admin3'")
    judge("4c", "admin creates an account that is administrator and clerk (POST "
          "/admin/users/new)", f"{made.status_code} {shown_error(made.text)!r}; created: "
          f"{exists}", exists == 0)


def _preview_fields(identity: str) -> dict:
    return {"subject_kind": "person", "identity_number": identity,
            "categories": ["a_orders", "episodes"],
            "purpose": "Kiểm sát việc tạm giam theo kế hoạch",
            "legal_basis": "Điều 12 Nghị định 121/2017", "provision": "pdf",
            "urgency": "normal", "channel": "network", "action": "preview"}


def finding_5(w: World, people: People) -> None:
    db = w.db
    leaks = {"case number": w.case_number, "facility": w.facility_name,
             "handling body": "Cơ quan Cảnh sát điều tra"}

    def leaked(text: str, *, kiosk: bool = False) -> list[str]:
        # The kiosk's own facility is the target's too: its name is on every kiosk page.
        return [what for what, value in leaks.items()
                if value in text and not (kiosk and what == "facility")]

    kiosk = people.kiosk("clerk.hanoi", db.one(
        "SELECT person_id FROM app_user WHERE username = 'detainee.demo'"))
    page = kiosk.submit("/requests/new", _preview_fields(w.target_identity), field="purpose",
                        forge=True)
    judge("5", "the kiosk (detainee.demo) previews the route for another person's identity "
          "number (POST /requests/new action=preview)",
          f"{page.status_code} {shown_error(page.text)!r}; shows "
          f"{leaked(page.text, kiosk=True) or 'nothing of the case'}",
          page.status_code in (403, 404, 422) and not leaked(page.text, kiosk=True))
    requester = people.sign_in("requester.vks")
    page = requester.submit("/requests/new", _preview_fields(w.target_identity), field="purpose")
    preview = page.text.split("route-preview", 1)[-1] if "route-preview" in page.text else ""
    told = [what for what in ("case number", "facility") if leaks[what] in page.text]
    judge("5b", "requester.vks (outside body) previews that person's route on the page",
          f"{page.status_code}; route shown: {bool(preview)}; leaks "
          f"{told or 'nothing'} (case number, facility)", not told)
    seq = db.one("SELECT max(seq) FROM audit_entry")
    _, token = w.tokens["vks-software"]
    body = {k: v for k, v in _preview_fields(w.target_identity).items() if k != "action"}
    answer = api(w.app.base, "POST", "/requests/preview", token, json=body)
    route = answer.json() if answer.ok else {}
    told = [f"{k}={s.get(k)}" for s in route.get("steps", []) for k in ("case_number", "stage",
                                                                       "case_id") if s.get(k)]
    if route.get("secrecy") not in (None, "none"):
        told.append(f"secrecy={route['secrecy']}")
    told += [what for what in ("case number", "facility") if leaks[what] in answer.text]
    audited = db.one("SELECT count(*) FROM audit_entry WHERE seq > %s AND action = "
                     "'request.preview' AND actor_name = 'system.vks' AND person_id = %s",
                     seq, w.target_person)
    judge("5c", "system.vks token previews that person (POST /api/v1/requests/preview)",
          f"{brief(answer)}; deciders told: "
          f"{[s.get('org_name') for s in route.get('steps', [])]}; leaks "
          f"{told or 'nothing'}; audited as request.preview: {audited}",
          not told and audited >= 1)


def finding_6(w: World, people: People) -> None:
    db = w.db
    for victim in ("attack.victim1", "attack.victim2"):
        people.sign_in(victim)  # enrols the authenticator, then signs out
        browser = people.signed_in.pop(victim)
        browser.post("/logout", {"csrf_token": browser.csrf()})

    def locked(username: str) -> bool:
        return db.one("SELECT locked_at IS NOT NULL FROM app_user WHERE username = %s",
                      username)

    answers = []
    for _ in range(5):
        browser, answer = people.password_step("attack.victim1", PASSWORD)
        step = answer.status_code
        if step == 302 and "/login/code" in answer.headers.get("Location", ""):
            code = browser.submit("/login/code", {"code": people.wrong_code("attack.victim1")},
                                  field="code")
            answers.append(f"{step}/{code.status_code}"
                           f"{'->' + code.headers['Location'] if code.status_code == 302 else ''}")
        else:
            answers.append(f"{step}/-")
    browser, after = people.password_step("attack.victim1", PASSWORD)
    right = "-"
    if after.status_code == 302 and "/login/code" in after.headers.get("Location", ""):
        right = browser.submit("/login/code", {"code": people.code("attack.victim1")},
                               field="code").headers.get("Location", "200")
    judge("6", "attack.victim1: right password then a wrong code, 5 times; then the right "
          "password and the right code", f"password/code {' '.join(answers)}; then password "
          f"{after.status_code}, code -> {right}; locked: {locked('attack.victim1')}",
          locked("attack.victim1") and after.status_code != 302)
    mixed = []
    for i in range(5):
        if i % 2 == 0:
            _, answer = people.password_step("attack.victim2", PASSWORD + "x")
            mixed.append(f"pw {answer.status_code}")
        else:
            browser, answer = people.password_step("attack.victim2", PASSWORD)
            code = browser.submit("/login/code", {"code": people.wrong_code("attack.victim2")},
                                  field="code")
            mixed.append(f"code {code.status_code}")
    judge("6b", "attack.victim2: 3 wrong passwords and 2 wrong codes (after the right "
          "password), alternating", f"{', '.join(mixed)}; locked: {locked('attack.victim2')}",
          locked("attack.victim2"))


def _listed(html: str) -> list[int]:
    return sorted({int(n) for n in re.findall(r'href="/requests/(\d+)"', html)})


def finding_7(w: World, people: People) -> None:
    db = w.db
    moved = db.q("UPDATE access_request SET due_on = due_on - 10 WHERE state IN "
                 "('awaiting_approval', 'awaiting_consent') RETURNING id, due_on")
    hidden = [r[0] for r in db.q(
        "SELECT r.id FROM access_request r JOIN app_user u ON u.id = r.requester_id "
        "WHERE u.username = 'requester.vks' AND r.due_on < %s AND r.state IN "
        "('awaiting_approval', 'awaiting_consent')", today())]
    colleague = people.sign_in("attack.vks2")
    page = colleague.get("/requests/?view=overdue")
    ids = _listed(page.text)
    opened = {i: colleague.get(f"/requests/{i}").status_code for i in ids}
    judge("7", f"attack.vks2 (a colleague at VKS-HANOI) lists overdue requests (GET "
          f"/requests/?view=overdue; due dates of {len(moved)} waiting requests moved 10 days "
          "back in the database)", f"{page.status_code}; listed {ids}, opened "
          f"{opened or '-'}; requester.vks's overdue {hidden} listed: "
          f"{sorted(set(ids) & set(hidden))}",
          page.status_code in (200, 403, 404) and all(s == 200 for s in opened.values())
          and not set(ids) & set(hidden))
    _, token = w.tokens["vks-software"]
    listed = api(w.app.base, "GET", "/requests", token, params={"view": "overdue"})
    ids = sorted(r["id"] for r in listed.json()) if listed.ok else []
    opened = {i: api(w.app.base, "GET", f"/requests/{i}", token).status_code for i in ids}
    judge("7b", "system.vks token lists overdue requests (GET /api/v1/requests?view=overdue)",
          f"{brief(listed)}; listed {ids}, opened {opened or '-'}",
          listed.status_code in (200, 403, 404) and all(s == 200 for s in opened.values())
          and not set(ids) & set(hidden))
    for username in ("requester.vks", "approver.hanoi"):
        browser = people.sign_in(username)
        ids = _listed(browser.get("/requests/?view=overdue").text)
        opened = {i: browser.get(f"/requests/{i}").status_code for i in ids}
        control("7", f"{username} lists overdue requests and opens each",
                f"listed {ids}, opened {opened}",
                bool(ids) and all(s == 200 for s in opened.values()))


def finding_8(w: World, people: People) -> None:
    base, db = w.app.base, w.db
    human = w.app.custody("create-token", "--username", "requester.vks", "--name", "person",
                          check=False)
    rows = db.one("SELECT count(*) FROM api_token t JOIN app_user u ON u.id = t.user_id "
                  "WHERE u.username = 'requester.vks'")
    judge("8", "custody create-token for a person's account (requester.vks)",
          f"exit {human.returncode} {last_line(human.stderr)!r}; tokens of the account: "
          f"{rows}", human.returncode != 0 and rows == 0)
    approver = w.app.custody("create-user", "--username", "attack.sysapprover", "--full-name",
                             "Máy duyệt", "--org", "CA-HANOI", "--role", "approver", "--system",
                             "--password", PASSWORD, check=False)
    exists = db.one("SELECT count(*) FROM app_user WHERE username = 'attack.sysapprover'")
    judge("8b", "custody create-user --system --role approver (a token that decides without "
          "a fresh two-factor sign-in)", f"exit {approver.returncode} "
          f"{last_line(approver.stderr)!r}; created: {exists}",
          approver.returncode != 0 and exists == 0)

    def use(name: str) -> requests.Response:
        return api(base, "GET", "/requests", w.tokens[name][1], params={"view": "mine"})

    first = use("t8-cli-revoke")
    control("8", "a live token of system account attack.sys8 (GET /api/v1/requests)",
            brief(first), first.status_code == 200)
    w.app.custody("revoke-token", str(w.tokens["t8-cli-revoke"][0]))
    again = use("t8-cli-revoke")
    judge("8c", "the token after `custody revoke-token`", brief(again), again.status_code == 401)
    admin = people.sign_in("admin")
    user_id, token_id = w.ids["attack.sys8"], w.tokens["t8-page-revoke"][0]
    page = admin.get(f"/admin/users/{user_id}").text
    revoked = admin.submit(f"/admin/users/{user_id}", {"confirm": "y"}, page=page,
                           action=f"/admin/users/{user_id}/tokens/{token_id}/revoke")
    again = use("t8-page-revoke")
    judge("8d", "the token after the administrator revokes it on the account's page",
          f"revoke {revoked.status_code}; token {brief(again)}", again.status_code == 401)
    db.q("UPDATE api_token SET expires_at = now() - interval '1 minute' WHERE id = %s",
         w.tokens["t8-expires"][0])
    expired = use("t8-expires")
    judge("8e", "a token whose expiry has passed (expires_at moved into the past in the "
          "database)", brief(expired), expired.status_code == 401)
    before = use("t8-disabled").status_code
    disabled = admin.submit(f"/admin/users/{user_id}", {"roles": ["requester"],
                                                        "clearance": "none", "active": None},
                            field="roles")
    active = db.one("SELECT active FROM app_user WHERE id = %s", user_id)
    after = use("t8-disabled")
    judge("8f", "a token of an account the administrator disabled (POST /admin/users/"
          f"{user_id} without 'May sign in')", f"before {before}; disable {disabled.status_code}"
          f" (active: {active}); token {brief(after)}",
          before == 200 and not active and after.status_code == 401)
    for _ in range(5):
        people.password_step("attack.sys8lock", "không phải mật khẩu này")
    locked = db.one("SELECT locked_at IS NOT NULL FROM app_user WHERE username = "
                    "'attack.sys8lock'")
    after = use("t8-locked")
    judge("8g", "a token of a system account locked by 5 failed sign-ins", f"locked: {locked};"
          f" token {brief(after)}", locked and after.status_code == 401)
    uses = db.q("SELECT outcome, details FROM audit_entry WHERE action = 'api.token' "
                "AND object_id = %s ORDER BY seq", str(w.tokens["t8-cli-revoke"][0]))
    named = [o for o, d in uses if json.loads(d).get("name") == "t8-cli-revoke"]
    judge("8h", "use a token without a trace (its uses in the audit trail, by its name)",
          f"{len(uses)} entries: {named}", named == ["success", "failure"])


def finding_9(w: World, people: People) -> None:
    db = w.db
    folder = ROOT / "instance" / "uploads"

    def files() -> set[str]:
        return {p.name for p in folder.iterdir()} if folder.exists() else set()

    clerk = people.sign_in("clerk.hanoi")
    identity = db.one("SELECT value FROM person_identifier WHERE person_id = %s ORDER BY id DESC "
                      "LIMIT 1", w.detainee_person)
    fields = {"subject_kind": "person", "identity_number": identity, "categories": ["episodes"],
              "legal_basis": "Điều 12 khoản 2 điểm đ", "provision": "pdf", "urgency": "normal",
              "channel": "written", "on_behalf_of_id": w.detainee_person, "action": "submit"}
    scan = b"%PDF-1.7\n%signed form of the attack\n"
    before, requests_before = files(), db.one("SELECT count(*) FROM access_request")
    rejected = clerk.submit("/requests/new", fields | {"purpose": "ngắn"}, field="purpose",
                            files={"scan": ("form.pdf", scan, "application/pdf")})
    requests_after = db.one("SELECT count(*) FROM access_request")
    judge("9", "clerk.hanoi files the detainee's written request with a scan and a purpose too "
          "short (POST /requests/new, multipart)", f"{rejected.status_code} "
          f"{shown_error(rejected.text)!r}; new files in instance/uploads: "
          f"{len(files() - before)}; requests {requests_before} -> {requests_after}",
          rejected.status_code != 302 and files() == before)
    accepted = clerk.submit("/requests/new", fields | {
        "purpose": "Tôi muốn biết hồ sơ tạm giam của mình"}, field="purpose",
        files={"scan": ("form.pdf", scan, "application/pdf")})
    control("9", "the same request with a proper purpose", f"{accepted.status_code}; new files:"
            f" {len(files() - before)}", accepted.status_code == 302
            and len(files() - before) == 1)
    filer = people.sign_in("attack.filer")
    page = filer.get("/requests/new").text
    statuses = []
    for _ in range(40):
        # A new connection each time, as separate clients would come (any worker may answer).
        answer = filer.submit("/requests/new", _preview_fields(w.target_identity), page=page,
                              field="purpose", headers={"Connection": "close"})
        statuses.append(answer.status_code)
    passed = sum(1 for s in statuses if s != 429)
    judge("9b", "attack.filer posts the filing form (preview) 40 times within a minute, each "
          "on a new connection (limit as served: RATELIMIT_FILING 30 per hour per account)",
          f"{passed} answered, {statuses.count(429)} refused with 429 (first 429 at "
          f"#{statuses.index(429) + 1 if 429 in statuses else '-'})", passed <= 30)
    _, token = w.tokens["vks-software"]
    body = {k: v for k, v in _preview_fields(w.target_identity).items() if k != "action"}
    statuses = [requests.post(f"{w.app.base}/api/v1/requests/preview", json=body,
                              headers={**bearer(token), "Connection": "close"},
                              timeout=120).status_code for _ in range(40)]
    passed = sum(1 for s in statuses if s != 429)
    judge("9c", "system.vks token previews 40 routes within a minute (POST "
          "/api/v1/requests/preview; same limit)", f"{passed} answered, "
          f"{statuses.count(429)} refused with 429", passed <= 30)
    before = db.one("SELECT count(*) FROM access_request")
    statuses = [requests.post(f"{w.app.base}/api/v1/requests", json=body | {"submit": False},
                              headers={**bearer(token), "Connection": "close"},
                              timeout=120).status_code for _ in range(40)]
    filed = db.one("SELECT count(*) FROM access_request") - before
    judge("9d", "system.vks token files 40 draft requests within a minute (POST "
          "/api/v1/requests; same limit)", f"{filed} filed, {statuses.count(429)} refused with "
          f"429 (first at #{statuses.index(429) + 1 if 429 in statuses else '-'})", filed <= 30)


def finding_10(w: World, people: People) -> None:
    db = w.db
    approver = people.sign_in("approver.hanoi")
    approved = db.one("SELECT id FROM access_request WHERE number = 'YC-2026-000002'")
    url = f"/requests/{approved}"
    prepared = approver.submit(url, {}, value=("action", "prepare"))
    page = approver.get(url).text
    # Release needs the preview opened by its releaser, and confirming on the check page.
    preview = db.one("SELECT id FROM issued_document WHERE request_id = %s AND kind = 'extract' "
                     "AND state = 'prepared' ORDER BY id DESC LIMIT 1", approved)
    if preview is not None:
        approver.get(f"/documents/{preview}/preview.pdf")
    released = approver.submit(url, {"release-valid_days": "30", "release-download_limit": "3",
                                     "release-named": "", "confirmed": "yes"}, page=page,
                               value=("action", "release"))
    extract = db.one("SELECT id FROM issued_document WHERE request_id = %s AND kind = 'extract' "
                     "AND state = 'released' ORDER BY id DESC LIMIT 1", approved)
    waiting = db.one("SELECT id FROM access_request WHERE state = 'awaiting_approval' "
                     "ORDER BY id LIMIT 1")
    refused = approver.submit(f"/requests/{waiting}", {
        "refuse-reason_code": "purpose", "refuse-text": "Mục đích không rõ",
        "confirmed": "yes"}, value=("action", "refuse"))
    notice = db.one("SELECT id FROM issued_document WHERE request_id = %s AND kind = 'refusal' "
                    "ORDER BY id DESC LIMIT 1", waiting)
    control("10", f"approver.hanoi prepares and releases the extract of request {approved}, "
            f"refuses request {waiting} (its notice is issued)",
            f"prepare {prepared.status_code}, release {released.status_code}, extract "
            f"{extract}, refuse {refused.status_code}, notice {notice}",
            bool(extract) and bool(notice))
    if not (extract and notice):
        raise Stop("no extract or notice to try revoking")

    def state(document_id: int) -> str:
        return db.one("SELECT state FROM issued_document WHERE id = %s", document_id)

    page = approver.get(url).text
    forged = approver.submit(url, {"revoke-document_id": notice,
                                   "revoke-reason": "Thu hồi để thử nghiệm tấn công"},
                             page=page, value=("action", "revoke"))
    judge("10", f"approver.hanoi revokes request {waiting}'s refusal notice from request "
          f"{approved}'s page (POST {url} action=revoke revoke-document_id={notice})",
          f"{forged.status_code}; notice {state(notice)}", forged.status_code in (403, 404)
          and state(notice) == "released")
    page = approver.get(url).text
    stale = approver.submit(url, {"revoke-reason": "Thu hồi để thử nghiệm tấn công",
                                  "version": None}, page=page, value=("action", "revoke"))
    shown = approver.get(stale.headers.get("Location", url)).text if stale.status_code == 302 \
        else stale.text
    judge("10b", f"the real extract's revoke without the page's version (POST {url} without "
          "`version`)", f"{stale.status_code}, then the page says {alerts(shown)}; extract "
          f"{state(extract)}",
          state(extract) == "released")
    real = approver.submit(url, {"revoke-reason": "Thu hồi để thử nghiệm tấn công",
                                 "confirmed": "yes"}, value=("action", "revoke"))
    control("10", "the real extract revoked from its own page, with the version (confirmed on "
            "its check page)",
            f"{real.status_code}; extract {state(extract)}", state(extract) == "revoked")


def _entry_hash(row: dict) -> str:
    payload = {k: row[k] for k in ("seq", "actor_id", "actor_name", "organisation_id", "action",
                                   "object_type", "object_id", "person_id", "outcome", "purpose",
                                   "ip", "details")}
    payload["occurred_at"] = row["occurred_at"].astimezone(dt.UTC).isoformat(
        timespec="microseconds")
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((row["prev_hash"] + "\n" + canonical).encode()).hexdigest()


COLUMNS = ("seq", "occurred_at", "actor_id", "actor_name", "organisation_id", "action",
           "object_type", "object_id", "person_id", "outcome", "purpose", "ip", "details",
           "prev_hash", "hash", "seal_from", "seal")


class Superuser:
    """Someone who holds the database (not the audit key): triggers off for the session, rows
    rewritten, the chain and its head recomputed."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def rows(self, start: int) -> list[dict]:
        return [dict(zip(COLUMNS, r, strict=True)) for r in self.db.q(
            f"SELECT {', '.join(COLUMNS)} FROM audit_entry WHERE seq >= %s ORDER BY seq",  # noqa: S608
            start)]

    def head(self) -> tuple:
        return self.db.q("SELECT seq, hash FROM audit_head WHERE id = 1")[0]

    def write(self, rows: list[dict], start: int, head: tuple) -> None:
        """Replace every entry from `start` with `rows` and set the head, triggers off."""
        with psycopg.connect(self.db.url) as conn, conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("DELETE FROM audit_entry WHERE seq >= %s", (start,))
            for row in rows:
                conn.execute(f"INSERT INTO audit_entry ({', '.join(COLUMNS)}) VALUES "  # noqa: S608
                             f"({', '.join(['%s'] * len(COLUMNS))})",
                             [row[c] for c in COLUMNS])
            conn.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", head)

    @staticmethod
    def rehash(rows: list[dict], prev: str) -> tuple:
        for row in rows:
            row["prev_hash"] = prev
            row["hash"] = prev = _entry_hash(row)
        return rows[-1]["seq"], rows[-1]["hash"]


def finding_11(w: World, people: People) -> None:
    app, db = w.app, w.db
    su = Superuser(db)
    app.custody("audit", "checkpoint", "--force")
    clerk = people.sign_in("clerk.hanoi")
    for q in ("nguyen van", "tran thi", "le van"):
        clerk.submit("/search", {"q": q}, field="q", follow=True)
    inspector = people.sign_in("inspector")
    target = db.one("SELECT max(seq) FROM audit_entry WHERE action = 'record.search'") - 2

    def verify() -> tuple[int, str]:
        done = app.custody("audit", "verify", check=False)
        text = (done.stderr + done.stdout).strip().replace("\n", " | ")
        return done.returncode, text

    code, text = verify()
    control("11", "custody audit verify on the untouched chain (checkpoint signed, then three "
            "searches)", f"exit {code}: {text[:120]}", code == 0)
    original, head = su.rows(target), su.head()
    if _entry_hash(original[0]) != original[0]["hash"]:
        raise Stop("this script computes entry hashes unlike the application")
    prev = original[0]["prev_hash"]

    def rewritten(strip: bool = False) -> list[dict]:
        rows = copy.deepcopy(original)
        rows[0]["details"] = json.dumps({"q": "khong ai"})
        if strip:
            for row in rows:
                row["seal"] = row["seal_from"] = None
        return rows

    variants = [
        ("11", f"superuser (triggers off) rewrites audit entry {target} (a search after the last "
               "checkpoint), rehashes every later entry and moves the head", False),
        ("11b", f"the same, and removes the seals of entries {target} onwards", True),
    ]
    for label, tried, strip in variants:
        rows = rewritten(strip)
        su.write(rows, target, su.rehash(rows, prev))
        code, text = verify()
        judge(label, f"{tried}; then custody audit verify", f"exit {code}: {text[:170]}",
              code == 1)
        su.write(original, target, head)
        code, text = verify()
        control(label, "the original rows put back", f"exit {code}", code == 0)
    cut = original[:-3]
    su.write(cut, target, (cut[-1]["seq"], cut[-1]["hash"]))
    code, text = verify()
    judge("11c", "superuser cuts the last 3 entries off and moves the head back; custody audit "
          "verify", f"exit {code}: {text[:170]}", code == 1)
    rows = rewritten()
    su.write(rows, target, su.rehash(rows, prev))
    seq = db.one("SELECT max(seq) FROM audit_entry")
    pressed = inspector.submit("/audit/", {}, action="/audit/verify")
    outcome = db.one("SELECT outcome FROM audit_entry WHERE seq > %s AND action = "
                     "'audit.verify' ORDER BY seq LIMIT 1", seq)
    judge("11d", f"entry {target} rewritten as in 11; the inspector presses 'Verify the chain "
          "now' (POST /audit/verify)", f"{pressed.status_code}; its audit.verify entry: "
          f"{outcome}", outcome == "failure")


def finding_12(w: World, people: People) -> None:
    db = w.db
    for username, path, action, object_id in [
            ("approver.hanoi", "/requests/inbox", "request.inbox", None),
            ("admin", f"/admin/users/{w.ids['approver.hanoi']}", "admin.user_view",
             str(w.ids["approver.hanoi"]))]:
        browser = people.sign_in(username)
        seq = db.one("SELECT max(seq) FROM audit_entry")
        answer = browser.get(path, allow_redirects=False)
        entries = db.q("SELECT action, object_id FROM audit_entry WHERE seq > %s AND "
                       "actor_name = %s ORDER BY seq", seq, username)
        judge("12" if path.startswith("/requests") else "12b",
              f"{username} reads GET {path} leaving no audit entry", f"{answer.status_code}; "
              f"entries written: {entries}", answer.status_code == 200 and any(
                  a == action and (object_id is None or o == object_id) for a, o in entries))


FINDINGS = [finding_1, finding_2, finding_3, finding_4, finding_5, finding_6, finding_7,
            finding_8, finding_9, finding_10, finding_11, finding_12]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: as `custody "
                        "serve`: one with memory://, 2 × cores + 1 with a shared store)")
    parser.add_argument("--keep", action="store_true", help="leave the database and the server")
    parser.add_argument("--only", help="the findings to try, e.g. 4,9 (default: all)")
    parser.add_argument("--ratelimit-storage", help="CUSTODY_RATELIMIT_STORAGE_URI of the "
                        "server, e.g. redis://127.0.0.1:6379/7, a database of its own: the "
                        "counts are left to expire (default: as served, memory://)")
    args = parser.parse_args()
    only = {int(n) for n in args.only.split(",")} if args.only else set(range(1, 13))
    started = time.perf_counter()
    db = Database(f"custody_attack_{secrets.token_hex(4)}")
    work = Path(tempfile.mkdtemp(prefix="custody-attack-"))
    app = Installation(db, work)
    if args.ratelimit_storage:
        app.env["CUSTODY_RATELIMIT_STORAGE_URI"] = json.dumps(args.ratelimit_storage)
    uploads = ROOT / "instance" / "uploads"
    uploads_before = {p.name for p in uploads.iterdir()} if uploads.exists() else set()
    try:
        db.create()
        print(f"database {db.name}; files in {work}", flush=True)
        world = World(app)
        world.prepare()
        app.serve(args.workers)
        print(f"serving {app.base} (custody serve, gunicorn)", flush=True)
        people = People(app.base)
        for number, finding in enumerate(FINDINGS, 1):
            if number in only:
                attempt(str(number), lambda f=finding: f(world, people))
    except Stop as error:
        print(f"STOPPED: {error}", flush=True)
        results.append(("-", "ERROR"))
    finally:
        if args.keep:
            print(f"kept: database {db.name}, server {app.base} (pid "
                  f"{app.server.pid if app.server else '-'})")
        else:
            app.stop()
            db.drop()
            if uploads.exists():
                for name in {p.name for p in uploads.iterdir()} - uploads_before:
                    (uploads / name).unlink()
    verdicts = [v for _, v in results]
    through = [label for label, v in results if v == "GOT THROUGH"]
    unsure = [label for label, v in results if v in ("ERROR", "CONTROL FAILED")]
    print(f"\n{verdicts.count('REFUSED')} refused, {len(through)} got through"
          f"{' (' + ', '.join(through) + ')' if through else ''}, {len(unsure)} not judged"
          f"{' (' + ', '.join(unsure) + ')' if unsure else ''}; "
          f"{time.perf_counter() - started:.0f} s")
    return 1 if through else 2 if unsure else 0


if __name__ == "__main__":
    sys.exit(main())
