"""`helpdesk webhooks …`: send what is due now (the scheduler's job, once); a thin wrapper over the job."""
from __future__ import annotations

import click
from flask.cli import AppGroup

webhooks_group = AppGroup("webhooks", help="Webhooks: send the deliveries that are due.")


@webhooks_group.command("deliver")
def deliver_command() -> None:
    """Send the webhook deliveries that are due now, once, and say how it went."""
    from helpdesk.webhooks.jobs import deliver_due

    click.echo(f"Webhooks: {deliver_due()}.")
