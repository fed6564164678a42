"""Exit 0 when the PostgreSQL server at the URL given answers, 1 otherwise (used by make)."""

from __future__ import annotations

import sys

import psycopg
from sqlalchemy import make_url


def main(url: str) -> int:
    parsed = make_url(url)
    try:
        psycopg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username,
                        password=parsed.password, dbname=parsed.database, connect_timeout=3).close()
    except psycopg.Error as error:
        print(f"PostgreSQL at {parsed.render_as_string(hide_password=True)}: {error}".strip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
