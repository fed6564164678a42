"""The security tests run on the app tests' fixtures: the same application built by the
migrations, a transaction rolled back per test, the manual clock and the test district."""

from __future__ import annotations

from ..app.conftest import app, client, clock, session  # noqa: F401  (fixtures)
from ..app.test_authorization_matrix import world  # noqa: F401  (fixture: a user per role, real objects)
from ..app.test_cases import district  # noqa: F401  (fixture)
