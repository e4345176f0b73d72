"""Setting up and signing in as the README says: the code of an authenticator key pasted as the
enrolment page shows it, and the warning of `custody serve` about the documents' address."""

from __future__ import annotations

import datetime as dt
import re
import shlex
from pathlib import Path

import pyotp
import pytest
from click.testing import CliRunner

from tests.helpers import org
from web.cli import main
from web.cli.server import public_url_warning, serving_base_url
from workflow.context import SYSTEM
from workflow.enums import Role
from workflow.security import accounts, mfa

README = Path(__file__).resolve().parents[2] / "README.md"
EVERYWHERE = "0.0.0.0"  # noqa: S104 - the address whose serving is warned of, never bound here


def readme_totp_command() -> list[str]:
    """The arguments of the README's `custody totp-code` example, as a shell would split them."""
    [line] = [line for line in README.read_text().splitlines()
              if line.startswith(".venv/bin/custody totp-code ")]
    return shlex.split(line)[1:]


def codes_around_now(secret: str) -> set[str]:
    """The codes of the key just before and just after now (a step may turn in between)."""
    now = dt.datetime.now(dt.UTC)
    return {pyotp.TOTP(secret).at(now + dt.timedelta(seconds=shift)) for shift in (-2, 0, 2)}


def code_of(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_the_readme_command_takes_the_key_as_the_page_shows_it():
    args = readme_totp_command()
    assert args[0] == "totp-code"
    [shown] = args[1:]  # one quoted argument, in groups of four as on the enrolment page
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", shown)
    secret = shown.replace(" ", "")
    assert code_of(*args) in codes_around_now(secret)
    assert code_of("totp-code", shown.lower()) in codes_around_now(secret)
    assert code_of("totp-code", *shown.split()) in codes_around_now(secret)  # pasted unquoted


def test_what_is_not_a_key_is_refused_plainly():
    for wrong in (["totp-code", "ABCD EFGH"], ["totp-code", "0000 1111 8888 9999 0000 1111"]):
        result = CliRunner().invoke(main, wrong)
        assert result.exit_code == 1 and "not an authenticator key" in result.output
        assert "Traceback" not in result.output


def test_a_first_sign_in_completes_with_the_code_of_the_key_as_shown(app, client, db):
    with app.extensions["custody_sessions"]() as session:
        accounts.create_user(session, SYSTEM, username="canbo.moi", full_name="Cán bộ Mới",
                             organisation_id=org(session, "TTG-HANOI").id, roles={Role.CLERK},
                             password="một cụm từ đủ dài")
        session.commit()
    response = client.post("/login", data={"username": "canbo.moi", "acknowledge": "y",
                                           "password": "một cụm từ đủ dài"})
    assert response.location.endswith("/login/enrol")
    page = client.get("/login/enrol").get_data(as_text=True)
    shown = re.search(r'id="totp-secret">([^<]+)<', page).group(1)
    assert " " in shown
    response = client.post("/login/enrol", data={"code": code_of("totp-code", shown)})
    assert response.status_code == 200 and client.get("/search").status_code == 200


def test_normalise_secret_ignores_spaces_dashes_case_and_padding():
    secret = mfa.new_secret()
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    for typed in (grouped, grouped.lower(), secret.replace("", "-")[1:-1], f" {secret}== \n"):
        assert mfa.normalise_secret(typed) == secret
    for wrong in ("", "ABCD", "ABCD EFGH IJKL MNOP Q", "1234 5678 ABCD EFGH IJKL"):
        assert mfa.normalise_secret(wrong) is None


@pytest.mark.parametrize("host", [EVERYWHERE, "::", "192.0.2.10", "records.example.test"])
def test_serving_beyond_this_machine_without_a_public_address_is_warned_of(host):
    warning = public_url_warning(host, None)
    assert warning and "CUSTODY_PUBLIC_BASE_URL" in warning and host in warning
    assert public_url_warning(host, "https://csdl.example.vn") is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.1.1", "localhost", "::1", "[::1]"])
def test_serving_on_loopback_needs_no_warning(host):
    assert public_url_warning(host, None) is None


def test_the_serving_address_is_written_as_a_url():
    assert serving_base_url("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert serving_base_url("::1", 8123) == "http://[::1]:8123"
    assert serving_base_url("[::1]", 8123) == "http://[::1]:8123"


def test_serve_prints_the_warning_and_takes_its_address_for_documents(app, monkeypatch):
    from gunicorn.app.base import BaseApplication

    served = []
    monkeypatch.setattr(BaseApplication, "run", lambda self: served.append(self.cfg.bind))
    result = app.test_cli_runner().invoke(args=["serve", "--host", EVERYWHERE, "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert served == [["0.0.0.0:8123"]]
    assert "Warning: CUSTODY_PUBLIC_BASE_URL is not set" in result.output
    assert app.config["SERVING_BASE_URL"] == "http://0.0.0.0:8123"
    result = app.test_cli_runner().invoke(args=["serve", "--port", "8124"])
    assert result.exit_code == 0 and "Warning" not in result.output
