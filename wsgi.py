"""WSGI entry point: ``gunicorn wsgi:app``. With ``HCP_SWEEP_IN_WEB=true`` each web process
also sweeps due timers, starting on its first request (any number of sweepers is safe);
otherwise run ``hcp worker`` next to it."""

from app import create_app

app = create_app()
