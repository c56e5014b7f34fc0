"""The ``helpdesk`` command: Flask's commands (run, db, routes, shell) plus the desk's own.

Commands are thin: they parse arguments, call a service, commit, and print what happened.
"""
from __future__ import annotations

import os
import sys
from typing import IO, Any
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, NoAppException
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from helpdesk import config as settings
from helpdesk.config import ConfigError


def _create_app() -> Flask:
    from helpdesk import create_app
    try:
        return create_app()
    except ConfigError as error:
        # Flask's CLI shows a NoAppException as one "Error: …" line instead of a traceback.
        raise NoAppException(f"configuration: {error}") from None


cli = FlaskGroup(name="helpdesk", create_app=_create_app, load_dotenv=False, set_debug_flag=False,
                 help="The Participa311 support desk.")


def main() -> None:
    """Entry point of the ``helpdesk`` console script."""
    arguments = sys.argv[1:]
    try:
        values = settings.load(settings.instance_path())
    except ConfigError as error:
        if arguments and not {"--help", "-h"} & set(arguments):
            click.echo(f"Error: configuration: {error}", err=True)
            sys.exit(2)
    else:
        # `helpdesk run` listens on the PORT setting unless --port or FLASK_RUN_PORT says otherwise.
        os.environ.setdefault("FLASK_RUN_PORT", str(values["PORT"]))
    try:
        cli.main(args=arguments, prog_name="helpdesk")
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        click.echo(f"Error: the database cannot be reached: {reason}", err=True)
        sys.exit(1)


def register_commands(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(user_group)
    app.cli.add_command(councils_group)
    app.cli.add_command(tickets_group)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(mail_group)
    app.cli.add_command(catalog_group)
    app.cli.add_command(kb_group)
    app.cli.add_command(storage_group)
    app.cli.add_command(status_command)
    from helpdesk.privacy.cli import privacy_group
    app.cli.add_command(privacy_group)
    from helpdesk.webhooks.cli import webhooks_group
    app.cli.add_command(webhooks_group)


def _fail(message: str) -> None:
    raise click.ClickException(message)


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Seed only when the database has no users yet.")
def demo_command(if_empty: bool) -> None:
    """Seed demo councils, contacts, instances and one user per role (safe to re-run)."""
    from helpdesk import demo
    from helpdesk.auth.models import User
    from helpdesk.extensions import db

    if if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        click.echo("The database already has users: demo data not seeded.")
        return
    summary = demo.seed()
    db.session.commit()
    click.echo(f"Demo data: {summary.councils} councils, {summary.contacts} contacts, "
               f"{summary.instances} instances, {summary.users} users, {summary.tickets} tickets.")
    click.echo("Demo users (e-mail / password):")
    for email, password, role in demo.DEMO_USERS_TABLE:
        click.echo(f"  {email:32} {password:20} {role}")
    if summary.admin_second_factor:
        import pyotp
        uri = pyotp.TOTP(summary.admin_second_factor).provisioning_uri(name=demo.DEMO_USERS[0][0], issuer_name="Participa311")
        click.echo(f"The demo administrator's second factor: add the key {summary.admin_second_factor} to an "
                   f"authenticator app ({uri}), or print the current code with\n  .venv/bin/python -c \"import pyotp; "
                   f"print(pyotp.TOTP('{summary.admin_second_factor}').now())\"")
        click.echo("The other demo staff set up their own second factor at their first sign-in.")


@click.group("user")
def user_group() -> None:
    """Create and invite users, set their passwords, reset their second factor."""


def _person_options(command: Any) -> Any:
    """The options that describe a new user, shared by ``user create`` and ``user invite``."""
    for option in reversed((
            click.option("--email", required=True), click.option("--name", required=True),
            click.option("--role", required=True, type=click.Choice(["admin", "agent", "technician",
                                                                     "catalogue_manager", "otpgl_approver",
                                                                     "council_user"])),
            click.option("--council", "ine_code", help="INE code of the council (council users only)."),
            click.option("--language", default="ca", type=click.Choice(["ca", "es", "en"]), show_default=True,
                         help="The language of the account (and of the invitation)."))):
        command = option(command)
    return command


def _council_id(ine_code: str | None) -> int | None:
    """The id of the council with this INE code (None for none given); stop with a message if there is none."""
    from helpdesk.councils.models import Council
    from helpdesk.extensions import db
    if not ine_code:
        return None
    council_id = db.session.scalar(select(Council.id).where(Council.ine_code == ine_code))
    if council_id is None:
        _fail(f"no council has the INE code {ine_code}")
    return council_id


@user_group.command("create")
@_person_options
@click.password_option(help="Asked for when not given.")
def create_user_command(email: str, name: str, role: str, ine_code: str | None, language: str,
                        password: str) -> None:
    """Create a user."""
    from helpdesk.auth.models import Role
    from helpdesk.auth.services import create_user
    from helpdesk.core.errors import DomainError
    from helpdesk.extensions import db

    council_id = _council_id(ine_code)
    try:
        user = create_user(None, email=email, name=name, role=Role(role), password=password,
                           council_id=council_id, language=language)
    except DomainError as error:
        db.session.rollback()
        _fail(str(error.message))
    db.session.commit()
    click.echo(f"User {user.email} created ({user.role.value}).")


@user_group.command("invite")
@_person_options
def invite_user_command(email: str, name: str, role: str, ine_code: str | None, language: str) -> None:
    """Invite a person by e-mail: they choose their password through a link valid for INVITATION_DAYS."""
    from datetime import timedelta

    from flask import current_app

    from helpdesk.auth.models import Role
    from helpdesk.auth.tokens import invite
    from helpdesk.core.errors import DomainError
    from helpdesk.core.models import utcnow
    from helpdesk.extensions import db

    council_id = _council_id(ine_code)
    try:
        user = invite(None, email=email, name=name, role=Role(role), council_id=council_id, language=language,
                      lifetime=timedelta(days=current_app.config["INVITATION_DAYS"]), now=utcnow())
    except DomainError as error:
        db.session.rollback()
        _fail(str(error.message))
    db.session.commit()
    click.echo(f"Invitation to {user.email} queued ({user.role.value}); the link works for "
               f"{current_app.config['INVITATION_DAYS']} days.")


@user_group.command("reset-second-factor")
@click.argument("email")
def reset_second_factor_command(email: str) -> None:
    """Turn a person's second factor off (a lost phone): they set up a new one at their next sign-in."""
    from sqlalchemy import func

    from helpdesk.auth import second_factor
    from helpdesk.auth.models import User
    from helpdesk.core.errors import DomainError
    from helpdesk.core.models import utcnow
    from helpdesk.extensions import db

    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        _fail(f"no user has the e-mail {email}")
    try:
        second_factor.reset(None, user, utcnow())
    except DomainError as error:
        db.session.rollback()
        _fail(str(error.message))
    db.session.commit()
    click.echo(f"Second factor of {user.email} reset.")


@user_group.command("set-password")
@click.argument("email")
@click.password_option(help="Asked for when not given.")
def set_password_command(email: str, password: str) -> None:
    """Set a user's password (their other sessions end)."""
    from sqlalchemy import func

    from helpdesk.auth.models import User
    from helpdesk.auth.services import set_password
    from helpdesk.core.errors import DomainError
    from helpdesk.extensions import db

    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        _fail(f"no user has the e-mail {email}")
    try:
        set_password(None, user, password)
    except DomainError as error:
        db.session.rollback()
        _fail(str(error.message))
    db.session.commit()
    click.echo(f"Password of {user.email} changed.")


@click.group("councils")
def councils_group() -> None:
    """Import councils."""


@councils_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--invite", is_flag=True, help="Invite each listed contact who has no account yet, by e-mail.")
def import_councils_command(path: Path, invite: bool) -> None:
    """Create or update councils, and add their contacts, from a CSV file (INE code is the key); a bad row
    writes nothing."""
    from datetime import timedelta

    from flask import current_app

    from helpdesk.core.models import utcnow
    from helpdesk.councils.importer import ImportFailed, Invitations, import_councils
    from helpdesk.extensions import db

    invitations = Invitations(timedelta(days=current_app.config["INVITATION_DAYS"]), utcnow(),
                              current_app.config["DEFAULT_LANGUAGE"]) if invite else None
    try:
        result = import_councils(None, path.read_bytes(), invitations)
    except ImportFailed as failure:
        db.session.rollback()
        for line, reason in failure.problems:
            click.echo(f"{path}:{line}: {reason}", err=True)
        _fail(f"{len(failure.problems)} bad row(s): nothing was imported")
    db.session.commit()
    click.echo(f"{path}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged; "
               f"{result.contacts_added} contacts added" + (f", {len(result.invited)} invited." if invite else "."))


@click.group("tickets")
def tickets_group() -> None:
    """Export tickets."""


@tickets_group.command("export")
@click.option("--format", "format_", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
def export_tickets_command(format_: str, output: Path | None) -> None:
    """Export every ticket: JSON with messages (the backup format, see README) or CSV, one row a ticket."""
    from helpdesk.mail.export import held_sections
    from helpdesk.tickets.export import write_csv, write_json

    def write(stream: IO[str]) -> int:
        return write_json(stream, held_sections()) if format_ == "json" else write_csv(stream)
    if output is None:
        write(sys.stdout)
        return
    temporary = output.with_name(output.name + ".part")
    with temporary.open("w", encoding="utf-8", newline="") as stream:
        count = write(stream)
    temporary.replace(output)  # a failed export never leaves a half-written file under the real name
    click.echo(f"{count} tickets written to {output}.", err=True)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run every job once and exit (if no other scheduler holds the lease).")
def scheduler_command(once: bool) -> None:
    """Run the background jobs (mail delivery, SLA warnings…); one process at a time holds the lease."""
    import logging
    import signal
    import threading

    from flask import current_app

    from helpdesk import scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = current_app._get_current_object()
    if once:
        if not scheduler.run_once(app):
            _fail("another scheduler holds the lease: nothing was run")
        return
    stop = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop.set())
    scheduler.run_forever(app, stop)


@click.group("mail")
def mail_group() -> None:
    """Take in mail: import files, poll the mailbox, retry quarantined messages."""


@mail_group.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--mailbox", default="import", show_default=True, help="Name the messages are recorded under.")
@click.option("--jobs", type=click.IntRange(min=0), default=0,
              help="Processes that read the messages while the database is written (0: one per CPU).")
@click.option("--verbose", is_flag=True, help="Print each message's outcome, with its ticket number.")
def mail_import_command(paths: tuple[Path, ...], mailbox: str, jobs: int, verbose: bool) -> None:
    """Import .eml files, folders of them, mbox files and Maildir folders, as the fetcher would; say which
    tickets it opened."""
    from helpdesk.mail.intake import Outage, ingest_many, read_many
    from helpdesk.mail.sources import read_paths
    from helpdesk.mail.summary import ImportSummary

    summary = ImportSummary()

    def report(outcomes: list) -> None:
        summary.add(outcomes)
        for outcome in outcomes:
            if verbose:
                ticket = f" #{outcome.ticket_id}" if outcome.ticket_id else ""
                reused = " (reused Message-ID)" if outcome.is_message_id_reused else ""
                click.echo(f"{outcome.source}: {outcome.kind}{ticket}{reused} {outcome.detail}".rstrip())

    try:
        report(ingest_many(read_many(read_paths(list(paths)), jobs or os.cpu_count() or 1), mailbox))
    except Outage as outage:
        _fail(f"the import stopped at {outage.source or 'the first message'}: {outage} (the database, the file "
              f"store or the disk failed, not the message). {outage.taken} messages before it were taken in. "
              "Once the cause is fixed, run the same command again: what was taken in already is counted "
              "as \"already had\".")
    click.echo(summary.counts_line())
    if summary.new_tickets:
        click.echo(summary.tickets_line())


@mail_group.command("retry")
def mail_retry_command() -> None:
    """Run every quarantined message through the pipeline again (after an upgrade)."""
    from sqlalchemy import select as query

    from helpdesk.extensions import db
    from helpdesk.mail.intake import retry
    from helpdesk.mail.models import HeldKind, HeldMail, HeldStatus

    held = db.session.scalars(query(HeldMail.id).where(HeldMail.kind == HeldKind.QUARANTINED,
                                                       HeldMail.status == HeldStatus.HELD)).all()
    for held_id in held:
        outcome = retry(db.session.get(HeldMail, held_id))
        click.echo(f"quarantined #{held_id}: {outcome.kind} {outcome.detail}".rstrip())
    click.echo(f"{len(held)} quarantined message(s) retried.")


@mail_group.command("poll")
@click.option("--once", is_flag=True, help="Fetch what is there and exit.")
def mail_poll_command(once: bool) -> None:
    """Fetch mail from every configured IMAP mailbox in the foreground (IDLE where the server has it)."""
    import logging
    import signal
    import threading

    from flask import current_app

    from helpdesk.mail.fetching import Fetcher, FetcherPool
    from helpdesk.mail.imap import ImapError
    from helpdesk.mail.intake import Outage
    from helpdesk.mail.models import configured_mailboxes

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = current_app._get_current_object()
    mailboxes, problems = configured_mailboxes(app.config)
    for problem in problems:
        click.echo(f"not fetched: {problem}", err=True)
    if not mailboxes:
        _fail("no mailbox configured: add one in Administration → Mailboxes, or set HELPDESK_IMAP_HOST, "
              "HELPDESK_IMAP_USERNAME and HELPDESK_IMAP_PASSWORD")
    if once:
        failed = []
        for settings in mailboxes:
            fetcher = Fetcher(app, settings)
            try:
                click.echo(f"{settings.name}: {fetcher.fetch_once()} new message(s) taken in.")
            except Outage as outage:
                failed.append(f"{settings.name}: {outage} (the database, the file store or the disk failed; the "
                              "message stays on the server and is taken at the next fetch)")
            except (ImapError, OSError) as error:
                failed.append(f"{settings.name}: {error.__class__.__name__}: {error}")
            finally:
                fetcher.close()
        if failed:
            _fail("\n".join(failed))
        return
    stop = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop.set())
    pool = FetcherPool(app)
    while not stop.is_set():
        pool.sync()
        stop.wait(30)
    pool.stop_all()


@mail_group.command("outbox")
@click.option("--all", "everything", is_flag=True, help="Also list refused messages and those waiting to be retried.")
@click.option("--mark-sent", type=click.IntRange(min=1), metavar="ID", help="An uncertain message did arrive.")
@click.option("--send-again", type=click.IntRange(min=1), metavar="ID",
              help="Put an uncertain message back in the queue, due now.")
def mail_outbox_command(everything: bool, mark_sent: int | None, send_again: int | None) -> None:
    """List outgoing mail whose delivery is uncertain; mark one sent or send it again."""
    from flask_babel import force_locale

    from helpdesk.core import delivery
    from helpdesk.core.models import utcnow
    from helpdesk.core.outbox import OutboxMessage
    from helpdesk.extensions import db
    from helpdesk.operations.delivery import related_records

    if mark_sent and send_again:
        _fail("give --mark-sent or --send-again, not both")
    if mark_sent or send_again:
        message_id = mark_sent or send_again
        message = db.session.get(OutboxMessage, message_id, with_for_update=True)
        if message is None:
            _fail(f"no outgoing message has the id {message_id}")
        try:
            (delivery.mark_sent if mark_sent else delivery.send_again)(None, message, utcnow())
        except delivery.NotUncertain as error:
            db.session.rollback()
            with force_locale("en"):
                _fail(str(error.message))
        db.session.commit()
        click.echo(f"Message {message_id} to {message.to_addresses}: "
                   + ("marked as sent, it will not go out again." if mark_sent
                      else "back in the queue, it goes out with the next delivery round."))
        return
    listed = 0
    with force_locale("en"):
        for chunk in db.session.scalars(delivery.to_check(everything), execution_options={"yield_per": 500}) \
                .partitions():
            related = related_records(chunk)
            for item in chunk:
                state = "deferred" if item.status.value == "pending" else item.status.value
                about = related[item.id].label if item.id in related else "-"
                click.echo(f"{item.id}\t{state}\t{item.to_addresses}\t{item.subject}\t{about}\t"
                           f"queued {item.created_at:%Y-%m-%d %H:%M} UTC\t{item.last_error}".rstrip())
                listed += 1
    what = "uncertain, failed or deferred" if everything else "uncertain"
    click.echo(f"{listed} {what} message(s)." + ("" if everything or not listed else
                                                  " Check each, then --mark-sent ID or --send-again ID."), err=True)


@click.group("catalog")
def catalog_group() -> None:
    """The Service Catalogue's jobs by hand."""


@catalog_group.command("remind")
@click.option("--dry-run", is_flag=True, help="Say what would be sent, send nothing.")
def catalog_remind_command(dry_run: bool) -> None:
    """Send the renewal reminders due today (each once), and move ended grants to grace or lapse."""
    from helpdesk.catalog.jobs import expire_grants, send_reminders
    from helpdesk.core.models import utcnow
    from helpdesk.extensions import db

    now = utcnow()
    if not dry_run:
        entered, lapsed = expire_grants(now)
        click.echo(f"{entered} grant(s) entered the grace period, {lapsed} lapsed.")
    reminders = send_reminders(now, dry_run=dry_run)
    for reminder in reminders:
        grant = reminder.grant
        click.echo(f"{'would send' if dry_run else 'sent'}: {grant.council.name} ({grant.instance.host}) ends "
                   f"{grant.ends_on.isoformat()}, {reminder.days_before}-day reminder to "
                   f"{', '.join(reminder.recipients) or 'nobody (no referent, no manager)'}")
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    click.echo(f"{len(reminders)} reminder(s) {'due' if dry_run else 'sent'}.")


@click.group("kb")
def kb_group() -> None:
    """The FAQ."""


@kb_group.command("seed")
def kb_seed_command() -> None:
    """Add the starting FAQ articles that are missing (one per topic support answers most)."""
    from helpdesk.extensions import db
    from helpdesk.kb.seed import seed_articles

    added = seed_articles()
    db.session.commit()
    click.echo(f"{added} article(s) added.")


@click.group("storage")
def storage_group() -> None:
    """The file store (attachments and raw mail, by SHA-256)."""


REFERENCE_BATCH = 5000


def _file_references():
    """(sha256, what names it, its id) for every row that names a stored file, read in batches."""
    from helpdesk.core.outbox import OutboxMessage
    from helpdesk.extensions import db
    from helpdesk.tickets.models import Attachment
    from helpdesk.mail.models import HeldMail, ReceivedMail

    for label, column, key in (("attachment", Attachment.sha256, Attachment.id),
                               ("held mail", HeldMail.raw_sha256, HeldMail.id),
                               ("received mail", ReceivedMail.raw_sha256, ReceivedMail.id)):
        for sha256, id_ in db.session.execute(select(column, key).execution_options(yield_per=REFERENCE_BATCH)):
            yield sha256, label, id_
    statement = select(OutboxMessage.attachments, OutboxMessage.id).execution_options(yield_per=REFERENCE_BATCH)
    for attachments, id_ in db.session.execute(statement):  # e-mail attachments (invitations' .ics files…)
        for item in attachments or []:
            yield item.get("sha256", ""), "outgoing mail", id_
    yield from _held_mail_attachments()


def _held_mail_attachments():
    """The files that held mail carries: stored when the message was read, and they become a ticket's
    attachments if an administrator turns it into one."""
    import hashlib

    from helpdesk.mail.parsing import parse
    from helpdesk.extensions import db
    from helpdesk.mail.models import HeldMail
    from helpdesk.tickets.services import blob_store

    store = blob_store()
    statement = select(HeldMail.raw_sha256, HeldMail.id).execution_options(yield_per=REFERENCE_BATCH)
    for raw_sha256, id_ in db.session.execute(statement):
        try:
            mail = parse(store.read(raw_sha256))
        except Exception:  # missing (listed as such) or unreadable (quarantined for that): it names no files
            continue
        for attachment in mail.attachments:
            yield hashlib.sha256(attachment.data).hexdigest(), "held mail (attachment)", id_


@storage_group.command("check")
@click.option("--remove-temporary", is_flag=True,
              help="Remove temporary files older than an hour (left by a writer that died; a live one's is younger).")
def storage_check_command(remove_temporary: bool) -> None:
    """List files that no row names, rows whose file is missing and temporary files; exit 1 if any."""
    from helpdesk.core.models import utcnow
    from helpdesk.core.storage import TEMPORARY_MAX_AGE, StorageError, check
    from helpdesk.tickets.services import blob_store

    store = blob_store()
    referenced = {sha256 for sha256, _label, _id in _file_references()}  # the rows first: see check()
    try:
        result = check(store, referenced, utcnow(), remove_temporary=remove_temporary)
    except StorageError as error:
        _fail(f"{error.detail}: temporary files could not be removed")
    for path in result.unreferenced:
        click.echo(f"file with no row: {path}")
    if result.missing:
        missing, names = set(result.missing), {}
        for sha256, label, id_ in _file_references():
            if sha256 in missing:
                names.setdefault(sha256, []).append(f"{label} {id_}")
        for sha256 in result.missing:
            click.echo(f"row with no file: {sha256} ({', '.join(names.get(sha256, []))})")
    for path, age in result.temporary:
        young = ", kept: it may be being written" if age <= TEMPORARY_MAX_AGE and remove_temporary else ""
        click.echo(f"temporary file: {path} ({_age(age)} old{young})")
    for path, age in result.removed:
        click.echo(f"removed temporary file: {path} ({_age(age)} old)")
    summary = (f"{store.root}: {result.stored} stored files, {len(result.unreferenced)} file(s) with no row, "
               f"{len(result.missing)} row(s) with no file, {len(result.temporary)} temporary file(s)")
    if remove_temporary:
        summary += f", {len(result.removed)} temporary file(s) removed"
    elif result.temporary:
        summary += " (--remove-temporary removes those older than an hour)"
    click.echo(summary + ".")
    if not result.is_clean:
        sys.exit(1)


def _age(age) -> str:
    minutes = int(age.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="The facts as JSON, as /health gives them.")
def status_command(as_json: bool) -> None:
    """Show whether the desk is healthy, fact by fact; exit 1 when any is a problem (warnings exit 0)."""
    import json

    from flask_babel import force_locale

    from helpdesk.core.models import utcnow
    from helpdesk.operations.status import GROUPS, State, collect, report, shown, worst

    now = utcnow()
    with force_locale("en"):
        facts = collect(now)
        if as_json:
            click.echo(json.dumps(report(facts, now), indent=2, ensure_ascii=False))
        else:
            for fact in facts:
                where = " · ".join(str(part) for part in (GROUPS[fact.group], fact.subject, fact.name) if part)
                detail = f" ({fact.detail})" if fact.detail else ""
                click.echo(f"{fact.state.value.upper():8} {where}: {shown(fact, now)}{detail} [{fact.threshold}]")
            click.echo(f"Overall: {worst(facts).value}")
    if worst(facts) is State.PROBLEM:
        sys.exit(1)
