"""``hcp simulate``: a realistic stream of ratings (R1-R3), deterministic per seed, fed through
intake, each bad rating a case whose deadlines count from its own day (R7)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

import calendars
import pytest
from calendars import SHANGHAI
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app.cli.simulate import register
from app.models import Case, CaseEvent, Channel, Level, Rating, ServiceRecord
from app.services import accounts
from app.services.demo_seed import seed_demo
from app.services.rating_input import parse_rating, resident_id_problem
from app.services.simulator import (CHANNEL_MIX, CatalogueItem, RatingStream, SimRating, Simulation,
                                    SimulationError, load_catalogue, source_name)

MONDAY, WEDNESDAY, FRIDAY, SUNDAY = date(2026, 11, 2), date(2026, 11, 4), date(2026, 11, 6), date(2026, 11, 8)


@pytest.fixture
def catalogue(session: Session, monkeypatch: pytest.MonkeyPatch) -> list[CatalogueItem]:
    """The demo district; its users' passwords do not matter here, so they are hashed cheaply."""
    monkeypatch.setattr(accounts, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"))
    seed_demo(session)
    session.commit()
    return load_catalogue(session)


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def day_of(rating: SimRating) -> date:
    """The simulated day a rating belongs to (its receipt may pass midnight by seconds)."""
    return date.fromisoformat(rating.payload["evaluated_at"][:10])


def share(ratings: list[SimRating], test: Callable[[SimRating], bool]) -> float:
    return sum(1 for r in ratings if test(r)) / len(ratings)


def test_the_stream_has_the_specified_mix(catalogue: list[CatalogueItem]) -> None:
    ratings = list(RatingStream(catalogue, seed=7, per_day=2500).ratings(MONDAY, SUNDAY))
    firsts = [r for r in ratings if r.record is not None and day_of(r).weekday() < 5]
    assert len(firsts) == 5 * 2500
    total_weight = sum(CHANNEL_MIX.values())
    for channel, weight in CHANNEL_MIX.items():
        assert share(firsts, lambda r: r.channel is channel) == pytest.approx(weight / total_weight, abs=0.015)
    assert 0.0015 <= share(firsts, lambda r: r.level.is_bad) <= 0.005
    good = [r for r in firsts if not r.level.is_bad]
    assert share(good, lambda r: r.level in (Level.VERY_SATISFIED, Level.SATISFIED)) > 0.85
    assert 0.03 <= share(good, lambda r: r.level is Level.BASICALLY_SATISFIED) <= 0.1
    assert share(good, lambda r: "comment" not in r.payload) > 0.8
    # Follow-ups come within 5 days: all of those of Monday's and Tuesday's ratings are in the week.
    early = [r for r in firsts if day_of(r) <= date(2026, 11, 3)]
    followed = {r.payload["service_record_no"] for r in ratings if r.payload.get("follow_up")}
    assert 0.006 <= share(early, lambda r: r.payload["service_record_no"] in followed) <= 0.014
    assert 0.37 <= share(firsts, lambda r: "evaluator" in r.payload) <= 0.43
    for rating in firsts:
        assert calendars.is_working_day(day_of(rating))
        if rating.channel.is_hall:
            assert time(8, 30) <= datetime.fromisoformat(rating.payload["evaluated_at"]).time() < time(17, 30)


def test_bad_ratings_carry_dimensions_and_comments_and_split_two_to_one(catalogue: list[CatalogueItem]) -> None:
    bad = [r for r in RatingStream(catalogue, seed=7, per_day=3000, bad_share=0.5).ratings(MONDAY, MONDAY)
           if r.level.is_bad]
    assert all(r.payload["dimensions"] and r.payload["comment"] for r in bad)
    assert 0.62 <= share(bad, lambda r: r.level is Level.DISSATISFIED) <= 0.71
    assert Counter(len(r.payload["dimensions"]) > 1 for r in bad)[True] > 100


def test_every_generated_rating_is_valid_and_realistic(catalogue: list[CatalogueItem]) -> None:
    ratings = list(RatingStream(catalogue, seed=11, per_day=1500).ratings(MONDAY, SUNDAY))
    for rating in ratings:
        parsed = parse_rating(rating.payload, now=rating.received_at)  # raises when invalid
        assert parsed.channel is rating.channel and parsed.level is rating.level
        assert rating.received_at >= parsed.evaluated_at
    evaluators = [r.payload["evaluator"] for r in ratings if "evaluator" in r.payload]
    ids = [e["id_no"] for e in evaluators if e.get("id_type") == "resident_id"]
    assert len(ids) > 500 and all(resident_id_problem(i, date(2026, 11, 29)) is None for i in ids)
    assert all(e["name"] and e["phone"].startswith("1") and len(e["phone"]) == 11 for e in evaluators)
    weekend = [r for r in ratings if day_of(r).weekday() >= 5 and r.record is not None]
    assert len(weekend) == 2 * 75 and not any(r.channel.is_hall for r in weekend)
    record_nos = [r.record["record_no"] for r in ratings if r.record is not None]
    assert len(set(record_nos)) == len(record_nos)
    by_record = {r.payload["service_record_no"]: r for r in ratings if r.record is not None}
    for follow_up in (r for r in ratings if r.record is None):
        first = by_record[follow_up.payload["service_record_no"]]
        assert first.received_at < follow_up.received_at and ratings.index(first) < ratings.index(follow_up)
        assert follow_up.payload.get("evaluator") == first.payload.get("evaluator")


def test_the_stream_is_a_function_of_the_seed(catalogue: list[CatalogueItem]) -> None:
    def payloads(seed: int, start: date) -> list[dict[str, Any]]:
        return [r.payload for r in RatingStream(catalogue, seed=seed, per_day=300).ratings(start, WEDNESDAY)]

    assert payloads(5, MONDAY) == payloads(5, MONDAY)
    assert payloads(5, WEDNESDAY) == [p for p in payloads(5, MONDAY) if "-20261104-" in p["id"]]
    assert not {p["service_record_no"] for p in payloads(5, MONDAY)} & {p["service_record_no"]
                                                                       for p in payloads(6, MONDAY)}


def test_a_run_stores_every_rating_and_opens_cases_from_their_own_day(session: Session,
                                                                       catalogue: list[CatalogueItem]) -> None:
    simulation = Simulation.prepare(session, env="testing", start=MONDAY, end=WEDNESDAY, per_day=200, seed=3,
                                    bad_share=0.02)
    expected = list(simulation.ratings())
    result = simulation.run(commit_every=100)
    bad = sum(r.level.is_bad for r in expected)
    assert (result.stored, result.invalid, result.conflicts, result.duplicates) == (len(expected), 0, 0, 0)
    assert result.cases_opened == bad >= 5
    stored = session.scalars(select(Rating).where(Rating.source.like("sim-%"))).all()
    assert len(stored) == len(expected) and {r.source for r in stored} == {source_name(c) for c in Channel}
    assert sum(r.sequence == 2 for r in stored) == sum(r.record is None for r in expected)
    cases = session.scalars(select(Case)).all()
    assert len({case.received_at.astimezone(SHANGHAI).date() for case in cases}) == 3
    for case in cases:
        rating = case.rating
        assert case.received_at == rating.received_at
        assert case.rectify_due_at == calendars.deadline(rating.received_at, 5)
        assert case.contact_due_at == (calendars.deadline(rating.received_at, 3) if rating.real_name else None)
        opened = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq))
        assert opened.occurred_at == rating.received_at  # the engine clock stood at the receipt
    record = session.scalar(select(ServiceRecord).where(ServiceRecord.record_no == expected[0].record["record_no"]))
    assert not record.awaiting_platform and record.staff_member.department_id == record.department_id

    before = {model: count(session, model) for model in (Rating, ServiceRecord, Case)}
    again = simulation.run()
    assert (again.stored, again.duplicates, again.cases_opened) == (0, len(expected), 0)
    assert before == {model: count(session, model) for model in before}


def test_the_command_reports_what_it_stored(app: Flask, session: Session, catalogue: list[CatalogueItem]) -> None:
    register(app)
    result = app.test_cli_runner().invoke(args=["simulate", "--days", "1", "--per-day", "40", "--seed", "9",
                                                "--end", "2026-11-03"])
    assert result.exit_code == 0, result.output
    stored, cases = count(session, Rating), count(session, Case)
    assert stored >= 40  # and the follow-ups given the same day
    assert f"ratings stored: {stored}, duplicates: 0, invalid: 0, cases opened: {cases}" in result.output


def test_production_is_refused(app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    register(app)
    monkeypatch.setitem(app.config, "ENV", "production")
    result = app.test_cli_runner().invoke(args=["simulate", "--days", "1"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: simulate refuses to run with HCP_ENV=production: it stores made-up ratings"]
    assert count(session, Rating) == 0


def test_a_database_without_the_demo_district_is_refused(app: Flask, session: Session) -> None:
    with pytest.raises(SimulationError, match="run `hcp seed-demo` first"):
        Simulation.prepare(session, env="testing", start=MONDAY, end=MONDAY, per_day=10, seed=1)
    register(app)
    result = app.test_cli_runner().invoke(args=["simulate", "--days", "2", "--end", "2026-11-03"])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: the demo district is missing: run `hcp seed-demo` first"


def test_the_days_end_before_today(app: Flask, session: Session) -> None:
    register(app)
    result = app.test_cli_runner().invoke(args=["simulate", "--end", "2999-01-01"])
    assert result.exit_code == 2 and "--end must be before today" in result.output
