"""`custody exchange …`: packages between the subsystems and feeds under agreements."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from web.cli.common import refused, run_service
from web.keys import EXCHANGE, signing_key
from workflow.audit.checkpoints import key_id, public_pem
from workflow.context import Actor
from workflow.errors import DomainError, NotFound
from workflow.exchange import conflicts, feeds, incoming, matches, outgoing, trust
from workflow.i18n import N_
from workflow.models import User


def _in_transaction(work, command: str, account: str | None = None):
    """Run `work(session, actor)` in one transaction as the installation or, when it moves data,
    as the named exchange account (the same gates as its API token). A domain error (an account
    that does not exist too) undoes the work, is audited as a refusal and becomes a clean
    exit."""
    with current_app.extensions["custody_sessions"]() as session:
        actor = Actor(None, "cli")
        if account is not None:
            user = session.scalar(select(User).where(User.username == account))
            if user is None:
                raise refused(session, actor, f"exchange {command}",
                              NotFound(N_("No account is named %(name)s."), name=account))
            actor = Actor(user, "cli")
        result = run_service(session, actor, f"exchange {command}",
                             lambda: work(session, actor))
        session.commit()
        return result


ACCOUNT = click.option("--account", required=True, envvar="CUSTODY_EXCHANGE_ACCOUNT",
                       help="The exchange account acted as (it decides which body's data moves).")


def _write(path: str, data: dict) -> None:
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")


@click.group("exchange")
def exchange_group() -> None:
    """Exchange with the other subsystem and other databases (Decree Arts. 6, 8, 13)."""


@exchange_group.command("key")
@with_appcontext
def key_command() -> None:
    """Print this installation's public exchange key (give it to the receiving centre)."""
    key = signing_key(EXCHANGE)
    click.echo(f"# key {key_id(key)}")
    click.echo(public_pem(key), nl=False)


@exchange_group.command("trust")
@click.argument("code")
@click.argument("public_key", type=click.Path(exists=True, dir_okay=False))
@click.option("--overlap-days", type=click.IntRange(min=0), default=0, show_default=True,
              help="How long packages signed with the key this one replaces are still accepted.")
@with_appcontext
def trust_command(code: str, public_key: str, overlap_days: int) -> None:
    """Accept packages (and receipts) from the body CODE signed with the key in PUBLIC_KEY."""
    pem = Path(public_key).read_text("utf-8")
    partner = _in_transaction(lambda s, a: trust.register_partner(
        s, a, code, pem, dt.timedelta(days=overlap_days)), "trust")
    click.echo(f"Packages of {code} signed with key {partner.key_id} are accepted.")


@exchange_group.command("export")
@ACCOUNT
@click.option("--source", help="Code of the managing body whose scope is sent (the account's).")
@click.option("--again", "again", type=click.IntRange(min=1),
              help="Make package N again (same content and number, signed with today's key).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@with_appcontext
def export_command(account: str, source: str | None, again: int | None, out: str) -> None:
    """Write the next package of SOURCE's scope (changes since its last package) to OUT."""
    key = signing_key(EXCHANGE)

    def work(session, actor):
        code = source or actor.user.organisation.code
        if again is not None:
            return outgoing.reexport_package(session, actor, code, again, key)
        return outgoing.export_package(session, actor, code, key)

    package = _in_transaction(work, "export", account)
    _write(out, package)
    click.echo(f"Package {package['sequence']} of {package['source']}: "
               f"{len(package['records'])} record versions, {len(package['stages'])} case "
               f"stages, written to {out}.")


@exchange_group.command("import")
@ACCOUNT
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--receipt", "receipt_path", type=click.Path(dir_okay=False),
              help="Write the signed receipt for the sender here (also when refused).")
@with_appcontext
def import_command(account: str, path: str, receipt_path: str | None) -> None:
    """Verify and apply a package; exit 1 if it was refused (then nothing was applied)."""
    try:
        package = json.loads(Path(path).read_text("utf-8"))
    except (ValueError, UnicodeDecodeError):
        package = None  # not JSON: refused (and audited) as not a package, like any other
    signed = {}

    def work(session, actor):
        signed.update(receiver=actor.user.organisation.code, at=actor.now)
        try:
            return incoming.import_package(session, actor, package)
        except DomainError as refusal:
            _receipt(receipt_path, package, signed, refusal=refusal)
            raise

    report = _in_transaction(work, "import", account)
    _receipt(receipt_path, package, signed, report=report)
    if report.already_imported:
        click.echo(f"Package {report.sequence} of {report.source} was imported before: "
                   "nothing changed.")
        return
    click.echo(f"Package {report.sequence} of {report.source}: {report.created} created, "
               f"{report.updated} updated, {report.unchanged} unchanged, {report.linked} linked "
               f"to records already here, {report.near_matches} possible matches to confirm, "
               f"{len(report.conflicts)} conflicts.")
    for conflict in report.conflicts:
        click.echo(f"CONFLICT {conflict['type']} {conflict['id']}: {conflict['problem']}",
                   err=True)
    if report.conflicts:
        sys.exit(2)


def _receipt(path: str | None, package: object, signed: dict, **outcome) -> None:
    if path is not None:
        _write(path, incoming.receipt(signed["receiver"], package, signing_key(EXCHANGE),
                                      signed["at"], **outcome))


@exchange_group.command("receipt")
@ACCOUNT
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def receipt_command(account: str, path: str) -> None:
    """Record the receiver's signed receipt for one of our packages."""
    receipt = _read_json(path)
    kept = _in_transaction(lambda s, a: _described(outgoing.record_receipt(s, a, receipt)),
                           "receipt", account)
    click.echo(kept)


def _read_json(path: str) -> object:
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{path} is not a JSON file: {error}") from error


def _described(receipt) -> str:
    package = receipt.package
    return (f"Package {package.source}#{package.sequence}: {receipt.outcome} by "
            f"{receipt.receiver}, {receipt.conflicts} conflicts"
            + ("" if receipt.sha256 == package.sha256 else ", NOT the content sent") + ".")


@exchange_group.command("sent")
@ACCOUNT
@click.option("--source", help="Code of the managing body (the account's).")
@with_appcontext
def sent_command(account: str, source: str | None) -> None:
    """List the packages sent, newest first, with what their receivers said."""
    rows = _in_transaction(lambda s, a: [p.as_dict() for p in outgoing.sent_packages(
        s, a, source or a.user.organisation.code)], "sent", account)
    for row in rows:
        said = "; ".join(
            f"{r['outcome']} by {r['receiver']} {r['signed_at'][:16]}, {r['conflicts']} "
            f"conflicts" + ("" if r["same_content"] else ", NOT the content sent")
            for r in row["receipts"]) or "no receipt"
        click.echo(f"{row['sequence']:>5}  {row['at'][:16]}  {row['records']:>6} records  "
                   f"{row['sha256'][:12]}  {said}")


@exchange_group.command("matches")
@ACCOUNT
@with_appcontext
def matches_command(account: str) -> None:
    """List the persons received who may be ones already here (same name and date of birth)."""
    rows = _in_transaction(lambda s, a: [
        (m.id, m.source, m.person_id, m.candidate_id, m.found_at)
        for m in matches.open_matches(s, a)], "matches", account)
    for match_id, source, received, candidate, found_at in rows:
        click.echo(f"{match_id:>5}  {found_at:%d/%m/%Y}  received from {source} as person "
                   f"{received}, perhaps person {candidate}")
    if not rows:
        click.echo("No possible match is waiting.")


@exchange_group.command("match")
@ACCOUNT
@click.argument("match_id", type=int)
@click.option("--same/--different", required=True, help="One person, or two.")
@click.option("--reason", required=True, help="How it was established.")
@with_appcontext
def match_command(account: str, match_id: int, same: bool, reason: str) -> None:
    """Decide a possible match: the same person (the records become one) or two persons."""
    _in_transaction(lambda s, a: matches.decide_match(s, a, match_id, same=same, reason=reason),
                    "match", account)
    click.echo(f"Possible match {match_id}: " + ("the same person, records joined." if same
                                                  else "two persons."))


@exchange_group.command("conflicts")
@ACCOUNT
@click.option("--all", "everything", is_flag=True, help="Also the settled ones.")
@with_appcontext
def conflicts_command(account: str, everything: bool) -> None:
    """List the records received that were not applied as sent, waiting for a decision."""
    rows = _in_transaction(lambda s, a: [
        (c.id, c.source, c.sequence, c.record_type, c.source_id, c.status,
         json.loads(c.problem)) for c in conflicts.list_conflicts(
            s, a, open_only=not everything)], "conflicts", account)
    for conflict_id, source, sequence, kind, source_id, status, problem in rows:
        text = problem["message"] % problem["params"] if problem["params"] else problem["message"]
        click.echo(f"{conflict_id:>5}  {source}#{sequence}  {kind} {source_id}  {status}: {text}")
    if not rows:
        click.echo("No conflict is waiting.")


@exchange_group.command("conflict")
@ACCOUNT
@click.argument("conflict_id", type=int)
@click.option("--keep", type=click.Choice(["ours", "theirs", "merge", "ask"]), required=True,
              help="Keep the record here, take the sender's, merge (with --take), or ask the "
                   "sender to send it again.")
@click.option("--take", "take", multiple=True,
              help="With --keep merge: a field to take from the sender (repeat for several).")
@click.option("--reason", required=True, help="Why (stands in the record's history).")
@with_appcontext
def conflict_command(account: str, conflict_id: int, keep: str, take: tuple[str, ...],
                     reason: str) -> None:
    """Settle a conflict: keep ours, take theirs, merge field by field, or ask again."""
    if keep == "ask":
        _in_transaction(lambda s, a: conflicts.ask_again(s, a, conflict_id, reason=reason),
                        "conflict", account)
        click.echo(f"Conflict {conflict_id}: to be asked of its sender "
                   "(`custody exchange ask` signs the request).")
        return
    done = _in_transaction(lambda s, a: conflicts.decide(
        s, a, conflict_id, keep=keep, fields=take, reason=reason).status, "conflict", account)
    click.echo(f"Conflict {conflict_id}: {done}.")


@exchange_group.command("ask")
@ACCOUNT
@click.option("--source", required=True, help="Code of the sender asked for its records.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@with_appcontext
def ask_command(account: str, source: str, out: str) -> None:
    """Sign the request to SOURCE for the records marked to be asked again, to OUT."""
    document = _in_transaction(lambda s, a: conflicts.ask_document(
        s, a, source, signing_key(EXCHANGE)), "ask", account)
    _write(out, document)
    click.echo(f"Request to {source} for {len(document['records'])} records, written to {out}.")


@exchange_group.command("asked")
@ACCOUNT
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def asked_command(account: str, path: str) -> None:
    """Record a receiver's signed request for records again: the next package carries them."""
    document = _read_json(path)
    count = _in_transaction(lambda s, a: outgoing.record_ask(s, a, document), "asked", account)
    click.echo(f"{count} records asked for again: the next package carries them.")


@exchange_group.command("agreement")
@click.option("--partner", required=True, help="Who receives the data.")
@click.option("--fields", required=True,
              help=f"Comma-separated, of: {', '.join(feeds.FEED_FIELDS)}.")
@click.option("--purpose", required=True)
@click.option("--approval", "approval_ref", required=True,
              help="The approving decision (number, date, signer).")
@click.option("--from", "valid_from", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "valid_to", required=True, type=click.DateTime(["%Y-%m-%d"]))
@with_appcontext
def agreement_command(partner: str, fields: str, purpose: str, approval_ref: str,
                      valid_from: dt.datetime, valid_to: dt.datetime) -> None:
    """Record an approved agreement to provide defined fields to another database."""
    made = _in_transaction(lambda s, a: feeds.create_agreement(
        s, a, partner=partner, fields=[f.strip() for f in fields.split(",") if f.strip()],
        purpose=purpose, approval_ref=approval_ref, valid_from=valid_from.date(),
        valid_to=valid_to.date()), "agreement")
    click.echo(f"Agreement {made.id} with {made.partner}: {', '.join(made.fields)}, "
               f"{made.valid_from:%d/%m/%Y} – {made.valid_to:%d/%m/%Y}.")


@exchange_group.command("feed")
@ACCOUNT
@click.argument("agreement_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@with_appcontext
def feed_command(account: str, agreement_id: int, out: str) -> None:
    """Write the feed of an agreement (persons changed since its last run) to OUT."""
    key = signing_key(EXCHANGE)
    feed = _in_transaction(lambda s, a: feeds.run_feed(s, a, agreement_id, key), "feed", account)
    _write(out, feed)
    click.echo(f"Run {feed['run']} of agreement {agreement_id}: {len(feed['persons'])} persons, "
               f"written to {out}.")
