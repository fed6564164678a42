"""``hcp keys``: make the secrets a production installation needs."""

from __future__ import annotations

import secrets

import click
from cryptography.fernet import Fernet


@click.group("keys", help="Secrets for production: session and personal-data keys.")
def keys_group() -> None:
    pass


@keys_group.command("new", help="Print a new HCP_SECRET_KEY and HCP_DATA_KEYS to put in the environment.")
def new() -> None:
    click.echo(f"HCP_SECRET_KEY={secrets.token_urlsafe(48)}")
    click.echo(f"HCP_DATA_KEYS={Fernet.generate_key().decode()}")
    click.echo("# keep HCP_DATA_KEYS safe: without it evaluators' personal data cannot be read", err=True)
