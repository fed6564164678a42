"""``hcp notify --once``: send the pending notifications by the configured channel."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..services.notify_delivery import Channel, deliver_once
from . import CommandFailed


@click.command("notify", help="Send pending notifications by e-mail (HCP_NOTIFY_SMTP_URL) or webhook "
               "(HCP_NOTIFY_WEBHOOK_URL), one run. Exit status 1 when some could not be sent.")
@click.option("--once", is_flag=True, required=True, help="Run once and exit (for cron or demos).")
@click.option("--timeout", type=click.FloatRange(0.5, 300), default=10.0, show_default=True,
              help="Seconds to wait for the mail server or the webhook.")
@with_appcontext
def notify_command(once: bool, timeout: float) -> None:
    channel = Channel.from_settings(current_app.config, timeout)
    if channel is None:
        raise CommandFailed("no notification channel: set HCP_NOTIFY_SMTP_URL (with HCP_NOTIFY_MAIL_FROM) "
                            "or HCP_NOTIFY_WEBHOOK_URL")
    result = deliver_once(db.sessionmaker, channel)
    click.echo(f"sent {result.sent} notifications by {channel.kind}, {result.failed} failed"
               + (f" ({result.given_up} given up)" if result.given_up else ""))
    for error in result.errors:
        click.echo(f"error: {error}", err=True)
    if result.failed:
        raise SystemExit(1)


def register(app: Flask) -> None:
    app.cli.add_command(notify_command)
