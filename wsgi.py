"""WSGI entry point: ``gunicorn wsgi:app``. With ``HCP_SWEEP_IN_WEB=true`` each web process
also sweeps due timers (any number of sweepers is safe); otherwise run ``hcp worker``."""

from app import create_app
from app.sweeper import start_in_web

app = create_app()
sweeper = start_in_web(app)
