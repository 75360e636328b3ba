"""The `privlink` command tree (typer): every group and the admin/serve commands.

Kept light on purpose: server-side modules (FastAPI, SQLAlchemy, uvicorn) are
loaded only inside the commands that need them, so the HTTP-client commands start
fast. An import-linter contract and a test hold this module to that.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer

from privlink.commands import audit as audit_commands
from privlink.commands import cloud as cloud_commands
from privlink.commands import common
from privlink.commands import outbound as outbound_commands
from privlink.commands import privatelink as privatelink_commands
from privlink.commands import usage as usage_commands
from privlink.commands import webhooks as webhook_commands
from privlink.output import fail, show

app = typer.Typer(
    help="privlink: a self-hostable PrivateLink control plane.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    # Plain help: rich's help renderer alone costs ~250 ms of start-up.
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True, rich_markup_mode=None)
admin_app = typer.Typer(
    help="Operator commands on the server's database.", no_args_is_help=True, rich_markup_mode=None
)
project_app = typer.Typer(help="Projects (tenants).", no_args_is_help=True, rich_markup_mode=None)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True, rich_markup_mode=None)
app.callback()(common.start)
app.add_typer(db_app, name="db")
app.add_typer(cloud_commands.app, name="cloud")
app.add_typer(privatelink_commands.service_app, name="service")
privatelink_commands.aws_app.add_typer(outbound_commands.app, name="outbound")
app.command("events")(privatelink_commands.events)
app.command("audit")(audit_commands.audit)
app.add_typer(webhook_commands.app, name="webhook")
app.command("usage")(usage_commands.usage)
app.add_typer(admin_app, name="admin")
admin_app.add_typer(project_app, name="project")
admin_app.add_typer(token_app, name="token")
service_app = typer.Typer(help="Managed services.", no_args_is_help=True, rich_markup_mode=None)
admin_app.add_typer(service_app, name="service")
secret_key_app = typer.Typer(
    help="The key that seals service passwords and CA keys in the database.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
admin_app.add_typer(secret_key_app, name="secret-key")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _lazy(name: str) -> ModuleType:
    """Import a server-side module only when a command needs it."""
    return importlib.import_module(f"privlink.{name}")


def _settings(**overrides: Any) -> Any:
    settings_module = _lazy("settings")
    from pydantic import ValidationError

    try:
        return settings_module.Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        fail("invalid configuration:\n" + settings_module.describe_error(error), code=2)


def _guarded(action: Callable[[], Any]) -> Any:
    """Run an action, turning privlink's errors into one line and a non-zero exit."""
    errors = _lazy("domain.errors")
    try:
        return action()
    except errors.PrivlinkError as error:
        fail(error.message)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address [PRIVLINK_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port [PRIVLINK_PORT].")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL [PRIVLINK_DATABASE_URL].")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="State folder [PRIVLINK_DATA_DIR].")] = None,
    cloud: Annotated[str | None, typer.Option(help="local or aws [PRIVLINK_CLOUD].")] = None,
    dataplane: Annotated[
        str | None, typer.Option(help="auto, kernel or userspace [PRIVLINK_DATAPLANE].")
    ] = None,
    kafka_port_pool: Annotated[
        str | None, typer.Option(help="LOW-HIGH [PRIVLINK_KAFKA_PORT_POOL].")
    ] = None,
    resync_interval: Annotated[
        float | None, typer.Option(help="Seconds [PRIVLINK_RESYNC_INTERVAL].")
    ] = None,
    log_format: Annotated[
        str | None, typer.Option(help="json or console [PRIVLINK_LOG_FORMAT].")
    ] = None,
) -> None:
    """Run the API, console, reconciler and local cloud in one process."""
    settings = _settings(
        host=host,
        port=port,
        database_url=database_url,
        data_dir=data_dir,
        cloud=cloud,
        dataplane=dataplane,
        kafka_port_pool=kafka_port_pool,
        resync_interval=resync_interval,
        log_format=log_format,
    )
    _guarded(lambda: _lazy("server").serve(settings))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    revision = _guarded(lambda: _lazy("server").db_upgrade(_settings()))
    typer.echo(f"Database is at revision {revision}.")


@project_app.command("create")
def project_create(name: str, as_json: JsonOpt = False) -> None:
    """Create a project."""
    show(_guarded(lambda: _lazy("admin").create_project(_settings(), name)), as_json=as_json)


@project_app.command("update")
def project_update(
    name: str,
    privatelink: Annotated[
        bool | None,
        typer.Option(
            "--enable-privatelink/--disable-privatelink",
            help="Allow PrivateLink for this project (limited availability).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a project's features."""
    if privatelink is None:
        fail("nothing to change; give --enable-privatelink or --disable-privatelink", code=2)
    row = _guarded(
        lambda: _lazy("admin").update_project(_settings(), name, privatelink=privatelink)
    )
    show(row, as_json=as_json)


@project_app.command("list")
def project_list(as_json: JsonOpt = False) -> None:
    """List projects."""
    show(_guarded(lambda: _lazy("admin").list_projects(_settings())), as_json=as_json)


@token_app.command("create")
def token_create(
    project: Annotated[str | None, typer.Option(help="Project the token is scoped to.")] = None,
    role: Annotated[
        str,
        typer.Option(
            help="admin (change its project), read-only (list, get, validate, events, "
            "audit) or operator (every project; no --project)."
        ),
    ] = "admin",
    admin: Annotated[
        bool, typer.Option("--admin", help="Same as --role operator.", hidden=True)
    ] = False,
    description: Annotated[str, typer.Option(help="What the token is for.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create an API token; the full token is printed only this once."""
    row = _guarded(
        lambda: _lazy("admin").create_token(
            _settings(),
            project=project,
            role="operator" if admin else role,
            description=description,
        )
    )
    if as_json:
        show(row, as_json=True)
        return
    typer.echo(f"Token {row['token_id']} created; it is shown only this once:\n")
    typer.echo(f"    {row['full_token']}\n")


@token_app.command("list")
def token_list(
    project: Annotated[str | None, typer.Option(help="Only this project's tokens.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List tokens (never their secrets)."""
    show(_guarded(lambda: _lazy("admin").list_tokens(_settings(), project)), as_json=as_json)


@token_app.command("revoke")
def token_revoke(token_id: str, as_json: JsonOpt = False) -> None:
    """Revoke a token; it stops working at once."""
    show(_guarded(lambda: _lazy("admin").revoke_token(_settings(), token_id)), as_json=as_json)


@service_app.command("register")
def service_register(
    name: str,
    project: Annotated[str, typer.Option(help="Project the service belongs to.")],
    service_type: Annotated[str, typer.Option("--type", help="kafka, pg, valkey, mqtt, …")],
    cloud: Annotated[str, typer.Option(help="Cloud name, e.g. aws-eu-west-1.")],
    plan: Annotated[str, typer.Option(help="Plan, e.g. business-4.")],
    node: Annotated[list[str], typer.Option(help="COMPONENT=HOST:PORT, repeatable.")],
    user: Annotated[
        list[str] | None,
        typer.Option(help="NAME:PASSWORD of a service user (default: avnadmin, new password)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a managed service and the nodes of its components."""
    row = _guarded(
        lambda: _lazy("admin").register_service(
            _settings(),
            project=project,
            name=name,
            service_type=service_type,
            cloud_name=cloud,
            plan=plan,
            nodes=node,
            users=user,
        )
    )
    show(row, as_json=as_json)


@service_app.command("update")
def service_update(
    name: str,
    project: Annotated[str, typer.Option(help="Project the service belongs to.")],
    plan: Annotated[str, typer.Option(help="The plan to move it to, e.g. dedicated-4.")],
    as_json: JsonOpt = False,
) -> None:
    """Move a service to another plan (refused if the plan drops what the service uses)."""
    row = _guarded(
        lambda: _lazy("admin").update_service(_settings(), project=project, name=name, plan=plan)
    )
    show(row, as_json=as_json)


@service_app.command("certificate")
def service_certificate(
    name: str,
    project: Annotated[str, typer.Option(help="Project the service belongs to.")],
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write server.crt, server.key, ca.crt.")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Write the service's TLS server certificate (its hosts and every active connection's
    names), its key and the project CA, for the service's nodes to load."""
    row = _guarded(
        lambda: _lazy("admin").service_certificate(
            _settings(), project=project, name=name, directory=directory
        )
    )
    show(row, as_json=as_json)


@secret_key_app.command("new")
def secret_key_new() -> None:
    """Print a new key for PRIVLINK_SECRET_KEYS (it is not stored anywhere)."""
    typer.echo(_lazy("admin").new_secret_key())


@secret_key_app.command("rotate")
def secret_key_rotate(as_json: JsonOpt = False) -> None:
    """Reseal service passwords and CA keys under a new key. Stop privlink first: a
    running server keeps the keys it started with."""
    show(_guarded(lambda: _lazy("admin").rotate_secret_key(_settings())), as_json=as_json)


def run(args: Sequence[str]) -> None:
    app(args=list(args), prog_name="privlink")
