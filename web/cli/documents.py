"""`custody pki …` and `custody extract …`: signing certificates, offline verification, purge."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from web.cli.common import app_sessions
from workflow.context import SYSTEM
from workflow.documents import extracts, issuing, longterm, pki, verification
from workflow.errors import DomainError
from workflow.models import Organisation, SigningCredential


def _settings() -> issuing.ExtractSettings:
    return current_app.extensions["custody_documents"]


def ensure_credentials() -> tuple[int, int]:
    """Create the development CA and a certificate for every organisation that has none, unless
    development certificates are turned off. Returns (created, organisations)."""
    settings = _settings()
    if not settings.issue_dev_certificates:
        return 0, 0
    with app_sessions()() as session:
        before = session.scalar(select(SigningCredential.id).order_by(
            SigningCredential.id.desc()).limit(1)) or 0
        pki.dev_ca(session, settings.passphrase, SYSTEM.now)
        published = issuing.crl_url(settings)
        longterm.dev_tsa(session, settings.passphrase, SYSTEM.now, published)
        orgs = session.scalars(select(Organisation)).all()
        for org in orgs:
            pki.org_credential(session, org, settings.passphrase, SYSTEM.now, crl_url=published)
        created = session.scalar(select(SigningCredential.id).order_by(
            SigningCredential.id.desc()).limit(1)) - before
        session.commit()
    return created, len(orgs)


@click.group("pki")
def pki_group() -> None:
    """Signing certificates of the issuing organisations."""


@pki_group.command("list")
@with_appcontext
def pki_list_command() -> None:
    """List the certificates: purpose, organisation, source, expiry, fingerprint."""
    with app_sessions()() as session:
        for row in session.scalars(select(SigningCredential).order_by(SigningCredential.id)):
            org = row.org.code if row.org else "-"
            state = "active" if row.active else "retired"
            click.echo(f"{row.purpose:<5} {org:<24} {row.source:<9} {state:<8} "
                       f"{row.not_after:%Y-%m-%d} {row.fingerprint[:16]}  {row.subject}")


@pki_group.command("import")
@click.option("--org", "org_code", required=True, help="Organisation code, e.g. CA-HANOI.")
@click.option("--cert", "cert_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--chain", "chain_path", type=click.Path(exists=True, dir_okay=False),
              help="PEM file with the issuing CA certificates (roots become trusted).")
@click.option("--key-password", envvar="CUSTODY_IMPORT_KEY_PASSWORD",
              help="Password of the key file, if it is encrypted.")
@click.option("--seal-image", "seal_path", type=click.Path(exists=True, dir_okay=False),
              help="The body's seal as a transparent PNG, shown where the seal signs.")
@with_appcontext
def pki_import_command(org_code, cert_path, key_path, chain_path, key_password,
                       seal_path) -> None:
    """Import a real certificate and key for an organisation (replaces its development one)."""
    from workflow.documents import seals

    with app_sessions()() as session:
        org = session.scalars(select(Organisation).where(Organisation.code == org_code)).first()
        if org is None:
            raise click.ClickException(f"No organisation {org_code}.")
        try:
            credential = pki.import_credential(
                session, org, cert_pem=Path(cert_path).read_bytes(),
                key_pem=Path(key_path).read_bytes(), key_password=key_password,
                chain_pem=Path(chain_path).read_bytes() if chain_path else b"",
                passphrase=_settings().passphrase)
            if seal_path:
                credential.image, credential.image_type = seals.checked_png(
                    Path(seal_path).read_bytes())
        except DomainError as error:
            raise click.ClickException(error.message % error.params) from error
        from workflow.audit import chain as audit

        audit.record(session, SYSTEM, "pki.import", object_type="organisation",
                     object_id=org.id, details={"fingerprint": credential.fingerprint,
                                                "subject": credential.subject})
        session.commit()
        click.echo(f"Imported {credential.subject} for {org.name} "
                   f"(SHA-256 {credential.fingerprint}).")


@pki_group.command("enrol-token")
@click.argument("username")
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="CUSTODY_TOKEN_PIN", help="The PIN the official will type when signing.")
@click.option("--signature-image", type=click.Path(exists=True, dir_okay=False),
              help="Their signature as a transparent PNG (else a drawn specimen).")
@with_appcontext
def pki_enrol_token_command(username: str, pin: str, signature_image: str | None) -> None:
    """Give an official a development signing token (SoftHSM2) with a key certified for them:
    their decisions are then signed with it, unlocked by the PIN, before the seal."""
    credential = enrol_token(username, pin, Path(signature_image).read_bytes()
                             if signature_image else None)
    click.echo(f"Enrolled a token for {username} ({credential.token_label}, "
               f"SHA-256 {credential.fingerprint}).")


def enrol_token(username: str, pin: str, signature_image: bytes | None = None):
    """Enrol a development token for a person's account (audited); ClickException on refusal."""
    from workflow.audit import chain as audit
    from workflow.documents import seals, tokens
    from workflow.models import User

    settings = _settings()
    with app_sessions()() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None or user.system:
            raise click.ClickException(f"No person's account {username}.")
        try:
            image = seals.checked_png(signature_image) if signature_image else None
            credential = tokens.enrol_dev(session, settings.signing_tokens, user, pin,
                                          passphrase=settings.passphrase, now=SYSTEM.now,
                                          crl_url=issuing.crl_url(settings), image=image)
        except DomainError as error:
            raise click.ClickException(error.message % error.params) from error
        audit.record(session, SYSTEM, "pki.enrol_token", object_type="user", object_id=user.id,
                     details={"fingerprint": credential.fingerprint,
                              "token": credential.token_label})
        session.commit()
        session.expunge(credential)
        return credential


@click.group("extract")
def extract_group() -> None:
    """Issued extracts and letters."""


@extract_group.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def extract_verify_command(path: str) -> None:
    """Check a PDF offline: its signature and its entry in the register. Exit 1 if it fails."""
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    with app_sessions()() as session:
        check = verification.check_file(session, Path(path).read_bytes())
        document = check.document
        if document is not None:
            click.echo(f"Register: {document.kind.label} No. {document.number} of "
                       f"{document.org.name}, issued {document.created_at:%Y-%m-%d %H:%M} UTC "
                       f"to {document.recipient_name} ({document.recipient_org}); "
                       f"state {document.state.value}; code {document.code}.")
        if check.signature.ok:
            if check.signature.person:
                click.echo(f"Signature: valid, signed by {check.signature.person}, then "
                           "sealed by the organisation.")
            click.echo(f"Signature: valid, signed by {check.signature.signer}.")
            if check.signature.timestamped_at is not None:
                click.echo(f"Timestamp: {check.signature.timestamped_at:%Y-%m-%d %H:%M:%S} UTC "
                           "by a trusted authority"
                           + ("; revocation data and a document timestamp embedded (PAdES "
                              "B-LTA)." if check.signature.long_term else "."))
    if check.ok:
        click.echo("VALID: the file is exactly the document issued and its signature holds.")
        return
    for problem in check.problems:
        click.echo(f"FAILED {problem}", err=True)
    sys.exit(1)


@extract_group.command("purge")
@click.option("--days", type=int, help="Retention in days (default: EXTRACT_RETENTION_DAYS).")
@with_appcontext
def extract_purge_command(days: int | None) -> None:
    """Drop the files of drafts never issued, older than the retention (issued originals are
    records and stay; register entries stay)."""
    retention = days if days is not None else _settings().retention_days
    with app_sessions()() as session:
        count = extracts.purge(session, SYSTEM, retention)
        session.commit()
    click.echo(f"Purged {count} draft file(s) older than {retention} days; issued originals "
               "are kept." if retention is not None
               else "Retention is unlimited: nothing purged.")
