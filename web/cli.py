"""Command-line tools: `flask users ...`, `flask exercises ...`, `flask ml ...`, `flask ops ...`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from domain.accounts import hash_password
from models import ROLES, User
from models.db import session_scope
from web.cli_groups import ml_cli

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(ROLES), default="patient", show_default=True)
@click.option("--clinic-id", default=None, help="Clinic a clinician belongs to.")
def create_user(email: str, password: str, role: str, clinic_id: str | None) -> None:
    """Create an account of any role (clinician and ops accounts are made only here)."""
    if len(password) < 8:
        raise click.BadParameter("at least 8 characters", param_hint="--password")
    with session_scope() as session:
        if session.scalar(select(User).where(User.email == email.strip().lower())):
            raise click.ClickException(f"{email} already exists")
        user = User(email=email.strip().lower(), password_hash=hash_password(password), role=role,
                    clinic_id=clinic_id)
        session.add(user)
        session.flush()
        click.echo(f"created {role} {user.email} id={user.id}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(ml_cli)
    from web import cli_camera, cli_ops, cli_plans, cli_video

    for module in (cli_plans, cli_video, cli_ops, cli_camera):
        for group in module.COMMANDS:
            app.cli.add_command(group)
