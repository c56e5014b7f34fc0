"""`helpdesk privacy …`: the retention purge, a person's export, an erasure; thin wrappers over the services."""
from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import AppGroup

privacy_group = AppGroup("privacy", help="Personal data: purge old tickets, export or erase a person.")


def _person(contact_id: int | None, user_id: int | None) -> Any:
    from helpdesk.auth.models import User
    from helpdesk.councils.models import Contact
    from helpdesk.extensions import db

    if (contact_id is None) == (user_id is None):
        raise click.UsageError("give --contact ID or --user ID (one of them)")
    record = db.session.get(Contact, contact_id) if contact_id is not None else db.session.get(User, user_id)
    if record is None:
        raise click.ClickException(f"no {'contact' if contact_id is not None else 'user'} "
                                   f"{contact_id if contact_id is not None else user_id}")
    return record


@privacy_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing.")
@click.option("--years", type=click.IntRange(min=0), default=None,
              help="Tickets finished more than this many years ago (default: PRIVACY_RETENTION_YEARS; 0: never).")
def purge_command(dry_run: bool, years: int | None) -> None:
    """Pseudonymise the requesters of tickets resolved or closed more than the retention period ago."""
    from helpdesk.core.models import utcnow
    from helpdesk.privacy.services import CHUNK, purge

    report = purge(None, utcnow(), years, dry_run)
    if report.disabled:
        click.echo("Retention is 0 years (PRIVACY_RETENTION_YEARS): tickets are never purged; nothing was done.")
        return
    cutoff = report.cutoff.date().isoformat() if report.cutoff else ""
    if dry_run:
        shown = ", ".join(f"#{number}" for number in report.numbers)
        more = f" (first {len(report.numbers)}: {shown})" if report.numbers else ""
        click.echo(f"Dry run: {report.tickets} tickets finished before {cutoff} would be pseudonymised"
                   f"{more}, {report.closed} of them closed, in {report.chunks} chunks of {CHUNK}; nothing changed.")
        return
    click.echo(f"{report.tickets} tickets finished before {cutoff} pseudonymised, {report.closed} of them closed, "
               f"in {report.chunks} chunks of {CHUNK}.")


@privacy_group.command("export")
@click.option("--contact", "contact_id", type=click.IntRange(min=1, max=2**31 - 1), help="The contact's id.")
@click.option("--user", "user_id", type=click.IntRange(min=1, max=2**31 - 1), help="The user's id.")
def export_command(contact_id: int | None, user_id: int | None) -> None:
    """Write everything the desk holds on a contact or a user as JSON to stdout (recorded in the audit trail)."""
    from helpdesk.extensions import db
    from helpdesk.privacy.services import export_person

    data = export_person(None, _person(contact_id, user_id))
    db.session.commit()
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@privacy_group.command("erase")
@click.option("--contact", "contact_id", type=click.IntRange(min=1, max=2**31 - 1), help="The contact's id.")
@click.option("--user", "user_id", type=click.IntRange(min=1, max=2**31 - 1), help="The user's id.")
@click.option("--yes", is_flag=True, help="Confirm: the erasure cannot be undone.")
def erase_command(contact_id: int | None, user_id: int | None, yes: bool) -> None:
    """Pseudonymise a contact or a user everywhere (a user's account is deactivated too)."""
    from helpdesk.core.errors import DomainError
    from helpdesk.councils.models import Contact
    from helpdesk.extensions import db
    from helpdesk.privacy.services import pseudonymise_contact, pseudonymise_user

    record = _person(contact_id, user_id)
    if not yes:
        raise click.UsageError("erasing cannot be undone: add --yes to confirm")
    try:
        erasure = (pseudonymise_contact(None, record) if isinstance(record, Contact)
                   else pseudonymise_user(None, record))
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from None
    db.session.commit()
    counts = ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in sorted(erasure.counts.items()))
    click.echo(f"Erased: now {erasure.pseudonym} ({counts or 'no other records'}).")
