"""Flask extensions, created unbound and registered by the app factory."""

from __future__ import annotations

import hashlib

from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_sqlalchemy_lite import SQLAlchemy
from flask_wtf import CSRFProtect

db = SQLAlchemy(session_options={"expire_on_commit": False})
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "warning"
login_manager.session_protection = "strong"


def _api_key_identity() -> str:
    """Rate limits count per API key; the storage sees a hash, never the key itself."""
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    if token:
        return "key:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]
    return "addr:" + (request.remote_addr or "unknown")


limiter = Limiter(key_func=_api_key_identity, headers_enabled=True)
