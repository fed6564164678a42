"""The case diagram's JSON: the BPMN files of the instance's version, and the elements
marked completed / active / overdue — taken from the serialized workflow (every element
SpiffWorkflow ran, in finished subprocesses too) and the engine's timer and task rows."""

from __future__ import annotations

from flask import Flask
from lxml import etree
from sqlalchemy.orm import Session

from app.extensions import db
from app.services.case_diagram import BPMN_NS, element_marks
from app.services.engine_runtime import make_engine
from workflows.clock import ManualClock
from workflows.sweep import sweep
from workflows.tables import Deployment

from .case_support import CONTACTED, REPORTED, District, at, case_in_appeal, real_name_case, signed_in, work
from .test_cases import district  # noqa: F401  (fixture)


def diagram(app: Flask, username: str, case_no: str) -> dict:
    db.session.expire_all()  # the requests share the test's session: forget what the sweep changed
    response = signed_in(app, username).get(f"/cases/{case_no}/diagram.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def ids_in(xml: str) -> set[str]:
    root = etree.fromstring(xml.encode("utf-8"))
    process = root.find(f"{{{BPMN_NS}}}process")
    return {element.get("id") for element in process.iter() if element.get("id")}


def test_a_case_walked_through_several_tasks(app: Flask, session: Session, district: District,
                                            clock: ManualClock) -> None:
    case = real_name_case(session, district, clock)
    work(session, case, "triage", district.h1, solved_on_spot=False)
    clock.set(at("2026-10-12T09:00:00"))  # the contact deadline (10-10) has passed
    assert sweep(db.sessionmaker, make_engine).fired == 2  # its warning and the deadline
    data = diagram(app, district.h1.username, case.case_no)
    assert data["case_no"] == case.case_no and data["version"] == 1
    [main] = data["diagrams"]
    assert (main["process"], main["file"], main["name"]) == ("bad_review", "bad_review.bpmn", "差评处置")
    assert {"start", "init", "triage", "gw_solved", "gw_real_name"} <= set(main["completed"])
    assert "contact_warning" in main["completed"]  # the warning fired
    assert set(main["overdue"]) == {"contact_deadline", "contact_citizen"}  # fired; the task past its due
    assert main["active"] == []  # the only open activity is overdue
    assert "return_visit" not in set(main["completed"]) | set(main["active"])
    # Every marked element is drawn in the file sent with it.
    elements = ids_in(main["xml"])
    assert set(main["completed"]) | set(main["active"]) | set(main["overdue"]) <= elements

    work(session, case, "contact_citizen", district.h1, **CONTACTED)
    [main] = diagram(app, district.h1.username, case.case_no)["diagrams"]
    assert "contact_citizen" in main["completed"] and main["overdue"] == ["contact_deadline"]
    # Rectification runs in an embedded subprocess: drawn in the same diagram.
    assert {"rectification", "rectify", "rectify_warning", "rectify_deadline"} <= set(main["active"])
    assert "rectification_start" in main["completed"]

    work(session, case, "rectify", district.h1, **REPORTED)
    work(session, case, "return_visit", district.h2, visited=True, visit_method="phone", citizen_satisfied=True)
    work(session, case, "file_record", district.lead, filing_summary="整改到位，予以备案")
    [main] = diagram(app, district.lead.username, case.case_no)["diagrams"]
    assert {"rectify", "set_rectified", "return_visit", "file_record", "end"} <= set(main["completed"])
    assert main["active"] == [] and main["overdue"] == ["contact_deadline"]
    assert "appeal" not in main["completed"]


def test_a_case_in_an_appeal_call_activity(app: Flask, session: Session, district: District,
                                          clock: ManualClock) -> None:
    case = case_in_appeal(session, district, clock)
    data = diagram(app, district.v1.username, case.case_no)
    assert [d["process"] for d in data["diagrams"]] == ["bad_review", "appeal"]
    main, appeal = data["diagrams"]
    assert appeal["file"] == "appeal.bpmn" and appeal["name"] == "申诉"
    assert {"appeal", "rectification"} & set(main["active"]) == {"appeal"}
    assert {"pause_rectify", "rectify", "rectification"} <= set(main["completed"])
    assert "file_appeal" not in main["completed"]  # drawn in the called process's diagram only
    assert {"appeal_start", "file_appeal"} <= set(appeal["completed"]) and appeal["active"] == ["decide_appeal"]
    assert set(appeal["completed"]) | set(appeal["active"]) <= ids_in(appeal["xml"])

    work(session, case, "decide_appeal", district.v1, appeal_decision="rejected", decision_reason="证据不足")
    work(session, case, "consider_recheck", district.h1, request_recheck=True, recheck_reason="补充监控录像")
    data = diagram(app, district.v2.username, case.case_no)
    assert [d["process"] for d in data["diagrams"]] == ["bad_review", "appeal", "recheck"]
    _main, appeal, recheck = data["diagrams"]
    assert "recheck" in appeal["active"] and "decide_appeal" in appeal["completed"]
    assert recheck["active"] == ["decide_recheck"]

    work(session, case, "decide_recheck", district.v2, recheck_decision="confirmed", recheck_opinion="维持")
    main, appeal, recheck = diagram(app, district.h1.username, case.case_no)["diagrams"]
    # Back to rectification with the days that were left: the finished call activity stays
    # marked completed, the rectification subprocess is active again.
    assert {"appeal", "resume_rectify"} <= set(main["completed"]) and "rectify" in main["active"]
    assert "decide_recheck" in recheck["completed"] and recheck["active"] == []


def test_marks_come_from_the_serialized_workflow(session: Session, district: District,
                                                 clock: ManualClock) -> None:
    """Script tasks and gateways, which the history never names, are marked too."""
    case = real_name_case(session, district, clock)
    work(session, case, "triage", district.h1, solved_on_spot=True, on_spot_measures="当场补办")
    marks = element_marks(session, case.instance, clock.now())
    assert list(marks) == ["bad_review"]
    assert {"gw_solved", "set_resolved_on_spot", "gw_spot_real_name"} <= marks["bad_review"].completed
    assert marks["bad_review"].active == {"return_visit"}


def test_the_diagram_is_the_version_the_case_runs_on(app: Flask, session: Session, district: District,
                                                     clock: ManualClock) -> None:
    case = real_name_case(session, district, clock)
    shipped = case.instance.deployment
    renamed = {name: xml.replace('name="差评处置"', 'name="差评处置（第二版）"')
               for name, xml in shipped.bpmn_files.items()}
    session.add(Deployment(version=shipped.version + 1, bpmn_files=renamed, form_files=shipped.form_files,
                           sha256="0" * 64, note="renamed", deployed_by="test", deployed_at=clock.now()))
    session.commit()
    data = diagram(app, district.h1.username, case.case_no)
    assert data["version"] == shipped.version and data["diagrams"][0]["name"] == "差评处置"
    assert "第二版" not in data["diagrams"][0]["xml"]
