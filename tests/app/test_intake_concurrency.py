"""Idempotency under two concurrent identical requests (PostgreSQL): one rating, one case —
for single ratings (in a transaction of their own, as the API stores them, or in a savepoint of
the caller's) and for batches (whose set-based store falls back to one by one)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import migrate
from app.extensions import db
from app.models import Case, Rating
from app.services.intake import ingest, ingest_batch

from ..db_support import fresh_database, on_postgres
from . import factories
from .conftest import make_app


@pytest.mark.skipif(not on_postgres(), reason="concurrent transactions need PostgreSQL")
@pytest.mark.parametrize("mode", ["single", "single in a caller's transaction", "batch"])
def test_two_identical_requests_at_once_store_one_rating(tmp_path: Path, mode: str) -> None:
    batch = mode == "batch"
    with fresh_database(tmp_path) as url:
        app = make_app(url, tmp_path / "instance")
        with app.app_context():
            migrate.upgrade(db.engine)
            dept, key = factories.intake_source(db.session)
            now = datetime.now(timezone.utc)
            body = {"id": "same-1", "service_record_no": "R-NEW-1", "service_item_code": "YB-1",
                    "department_code": dept.credit_code, "channel": "web_portal", "level": "非常不满意",
                    "comment": "材料反复退回", "evaluated_at": (now - timedelta(minutes=1)).isoformat()}
            key_id = key.id
        barrier, answers, errors = threading.Barrier(2), [], []

        def request() -> None:
            try:
                with app.app_context():
                    session = db.session
                    source = session.get(type(key), key_id)
                    if mode == "single":  # as the API calls it: no transaction open, ingest begins its own
                        session.commit()
                    barrier.wait(timeout=30)
                    if batch:  # the same rating among others that are new to each request
                        others = [{**body, "id": f"own-{threading.get_ident()}-{n}", "level": "满意",
                                   "service_record_no": f"R-OWN-{threading.get_ident()}-{n}"} for n in range(3)]
                        outcomes = ingest_batch(session, source, [*others, dict(body)], now)
                        assert [o.status for o in outcomes[:3]] == ["created"] * 3
                        answers.append(outcomes[3].status)
                    else:
                        answers.append(ingest(session, source, dict(body), now).status)
                    session.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(repr(error))

        threads = [threading.Thread(target=request) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        assert sorted(answers) == ["created", "duplicate"]
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Rating)) == (7 if batch else 1)
            assert db.session.scalar(select(func.count()).select_from(Case)) == 1
            db.engine.dispose()
