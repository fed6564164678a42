"""``hcp apikey``: keys for rating sources."""

from __future__ import annotations

import getpass
from datetime import datetime, timezone

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..models import ApiKey, Channel
from ..services.api_keys import ApiKeyError, create_key, revoke
from ..services.audit_log import log_action
from . import CommandFailed, cli_actor


@click.group("apikey", help="API keys of rating sources (devices, portals, apps, hotline).")
def apikey_group() -> None:
    pass


@apikey_group.command("create", help="Create a key; it is printed once and never shown again.")
@click.option("--name", required=True, help="The source's name, e.g. hall-window-03 (becomes the ratings' source).")
@click.option("--channel", required=True, type=click.Choice([c.value for c in Channel]),
              help="The channel the source rates through.")
@with_appcontext
def create(name: str, channel: str) -> None:
    try:
        key, token = create_key(db.session, name, Channel(channel), getpass.getuser(), datetime.now(timezone.utc))
    except ApiKeyError as error:
        raise CommandFailed(str(error)) from None
    log_action(db.session, "api_key_created", actor=cli_actor(), target=key.name, detail={"channel": channel})
    db.session.commit()
    click.echo(f"API key for {key.name} ({Channel(channel).label}) — shown only now, store it safely:")
    click.echo(token)


@apikey_group.command("list", help="List keys (never the keys themselves).")
@with_appcontext
def list_keys() -> None:
    for key in db.session.scalars(select(ApiKey).order_by(ApiKey.name)):
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
        click.echo(f"{key.name:<24} {key.channel.value:<14} {key.prefix}…  {state:<18} last used {used}")


@apikey_group.command("revoke", help="Revoke a key: its source gets 401 from now on (from running "
                                     "web processes within a second: they remember a checked key that long).")
@click.argument("name")
@with_appcontext
def revoke_key(name: str) -> None:
    try:
        key = revoke(db.session, name, datetime.now(timezone.utc))
    except ApiKeyError as error:
        raise CommandFailed(str(error)) from None
    log_action(db.session, "api_key_revoked", actor=cli_actor(), target=key.name)
    db.session.commit()
    click.echo(f"{key.name}: revoked")
