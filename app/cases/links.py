"""Links to endpoints of other parts of the UI, which may not be registered (they are
built separately): None when the endpoint does not exist."""

from __future__ import annotations

import os
from typing import Any

from flask import current_app, url_for

VIEWER_FILE = "vendor/bpmn-js/bpmn-viewer.production.min.js"


def optional_url(endpoint: str, **values: Any) -> str | None:
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def viewer_installed() -> bool:
    """Whether ``make install`` copied the bpmn-js viewer under static/."""
    return bool(current_app.static_folder) and os.path.isfile(os.path.join(current_app.static_folder, VIEWER_FILE))
