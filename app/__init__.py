"""好差评 case system: the Flask application.

``create_app`` only registers things (extensions, blueprints, CLI groups, error handlers):
it touches no database, starts no scheduler and opens no connection.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import privacy
from .config import load_settings
from .database import configure_engines
from .sqlite_writes import write_lock_for_changing_requests


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=_instance_path(config))
    app.config.update(load_settings(app.instance_path, config))
    privacy.configure(app.config["DATA_KEYS"])
    from . import request_guard

    request_guard.register(app)  # before any route: bounded ids; NUL characters refused

    from .extensions import csrf, db, limiter, login_manager

    db.init_app(app)
    configure_engines(app)
    write_lock_for_changing_requests(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    from . import api, auth, errors, http_headers, main, records, templating, work
    from .cli import register_cli
    from .sweeper import sweep_in_web

    csrf.exempt(api.bp)  # key-authenticated JSON, no cookies
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(records.bp)
    from . import audit
    app.register_blueprint(audit.bp)
    from . import admin

    app.register_blueprint(admin.bp)
    app.register_blueprint(work.bp)
    from . import cases, notifications, supervision

    for blueprint in (cases.bp, notifications.bp, supervision.bp):
        app.register_blueprint(blueprint)
    from . import designer

    app.register_blueprint(designer.bp)
    from . import reports

    app.register_blueprint(reports.bp)
    errors.register(app)
    http_headers.register(app)
    templating.register(app)
    register_cli(app)
    sweep_in_web(app)  # with HCP_SWEEP_IN_WEB, a web process sweeps from its first request on
    return app


def _instance_path(config: Mapping[str, Any] | None) -> str | None:
    """``HCP_INSTANCE_PATH`` (or ``INSTANCE_PATH`` in ``config``) moves the instance folder,
    which holds the SQLite database and the generated keys in development."""
    value = (config or {}).get("INSTANCE_PATH") or os.environ.get("HCP_INSTANCE_PATH")
    return os.path.abspath(value) if value else None
