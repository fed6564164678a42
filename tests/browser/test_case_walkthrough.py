"""Issue 6's walk-through in a real browser: a bad rating arrives through the API; the
handler claims it in the inbox, records the contact (seeing the citizen's phone in full
only there), appeals; a verifier of another department rejects the appeal; the handler
reports the rectification, the return visit satisfies the citizen, the lead files it; the
case page shows the closed case with its path marked on the diagram. Screenshots of the
inbox and the case page are kept as artifacts."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta, timezone

from .conftest import District, screenshot, sign_in

PHONE = "13912345678"


def post_rating(district: District) -> dict:
    now = datetime.now(timezone.utc)
    body = {"id": "walk-1", "service_record_no": "R-WALK-0001", "service_item_code": district.item_code,
            "department_code": district.department_code, "channel": "window_device", "level": "不满意",
            "dimensions": ["服务效率"], "comment": "排队一个多小时<script>alert(1)</script>",
            "evaluated_at": (now - timedelta(minutes=5)).isoformat(),
            "evaluator": {"real_name": True, "name": "张晓明", "phone": PHONE}}
    request = urllib.request.Request(f"{district.url}/api/v1/evaluations", data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {district.api_key}",
                                              "Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        return json.loads(response.read())


def claim_here(page) -> None:  # type: ignore[no-untyped-def]
    claim = page.get_by_role("button", name="认领此任务")
    if claim.count():
        claim.click()
        page.wait_for_load_state()


def submit(page, heading: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    assert f"「{heading}」已提交" in page.locator(".flash").first.inner_text()


def take_from_department(page, district: District, task_name: str) -> None:  # type: ignore[no-untyped-def]
    """Claim the department's open task in the inbox, then open it from 我的待办."""
    page.goto(f"{district.url}/inbox?tab=department")
    row = page.locator("table.inbox-table tr", has_text=task_name)
    row.get_by_role("button", name="认领").click()
    page.wait_for_load_state()
    page.goto(f"{district.url}/inbox?tab=mine")
    page.locator("table.inbox-table tr", has_text=task_name).get_by_role("link", name=task_name).click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == task_name


def test_a_bad_rating_worked_to_a_closed_case(district: District, new_page) -> None:  # type: ignore[no-untyped-def]
    answer = post_rating(district)
    case_no = answer["case_no"]
    handler = new_page()
    sign_in(handler, district, "yibao.h1")
    assert handler.url.endswith("/inbox")  # handlers land in their inbox
    handler.goto(f"{district.url}/inbox?tab=department")
    assert case_no in handler.locator("table.inbox-table").inner_text()
    screenshot(handler, "inbox")
    take_from_department(handler, district, "初步处置")
    summary = handler.locator("aside.case-summary").inner_text()
    assert "<script>" in summary and PHONE not in summary  # escaped, and masked outside contact tasks
    submit(handler, "初步处置")  # not solved on the spot: the next task of the case opens

    assert handler.locator("h1").inner_text() == "联系群众"
    claim_here(handler)
    assert PHONE in handler.locator("aside.case-summary").inner_text()  # the one who calls sees the number
    handler.check("#contacted")
    handler.select_option("#contact_method", "phone")
    handler.fill("#contacted_at", datetime.now().strftime("%Y-%m-%dT%H:%M"))
    handler.fill("#citizen_request", "希望缩短排队时间")
    handler.check("#problem_exists")
    submit(handler, "联系群众")

    claim_here(handler)
    handler.select_option("#action", "appeal")
    submit(handler, "整改处置")
    claim_here(handler)
    handler.select_option("#appeal_reason", "mistaken")
    handler.fill("#appeal_explanation", "评价人误选了办件")
    submit(handler, "提出申诉")

    verifier = new_page()
    sign_in(verifier, district, "shuiwu.verifier")
    verifier.goto(f"{district.url}/verify")
    verifier.locator("tr", has_text=case_no).get_by_role("button", name="认领").click()
    verifier.wait_for_load_state()
    assert verifier.locator("h1").inner_text() == "申诉审核"
    verifier.select_option("#appeal_decision", "rejected")
    verifier.fill("#decision_reason", "证据不足，维持差评")
    submit(verifier, "申诉审核")

    take_from_department(handler, district, "是否申请复核")
    submit(handler, "是否申请复核")  # no recheck: back to rectification
    claim_here(handler)
    handler.select_option("#action", "report")
    handler.fill("#measures", "增开两个窗口")
    handler.fill("#result", "已整改并告知群众")
    submit(handler, "整改处置")
    claim_here(handler)
    handler.check("#visited")
    handler.select_option("#visit_method", "phone")
    handler.check("#citizen_satisfied")
    submit(handler, "回访")

    lead = new_page()
    sign_in(lead, district, "yibao.lead")
    take_from_department(lead, district, "备案")
    lead.fill("#filing_summary", "整改到位，群众满意，予以备案")
    submit(lead, "备案")

    lead.goto(f"{district.url}/cases/{case_no}")
    assert "已办结" in lead.locator("main").inner_text()
    lead.wait_for_selector("#case-diagram[data-ready=true]", timeout=20_000)
    marked = lead.locator("#case-diagram section.diagram[data-process=bad_review]").get_attribute("data-marked")
    assert int(marked) > 5
    assert lead.locator("#case-diagram .hcp-completed").count() > 5
    screenshot(lead, "case-page")

    auditor = new_page()  # the audit page replays the case step by step, diagram and all
    sign_in(auditor, district, "auditor")
    auditor.goto(f"{district.url}/audit/cases/{case_no}")
    assert "一致" in auditor.locator(".replay-result").inner_text()
    auditor.wait_for_selector("#audit-diagram[data-ready=true]", timeout=20_000)
    steps = int(auditor.locator("#stepper").get_attribute("data-steps"))
    assert auditor.locator("#step-label").inner_text() == f"第 1 / {steps} 步"
    assert auditor.locator("article.step:visible").count() == 1
    auditor.get_by_role("button", name="下一步").click()
    assert auditor.locator("#audit-diagram").get_attribute("data-step") == "2"
    assert auditor.locator("#step-2").is_visible() and not auditor.locator("#step-1").is_visible()
    auditor.get_by_role("button", name="最后一步").click()
    assert auditor.locator(f"#step-{steps}").is_visible()
    assert "已办结" in auditor.locator(f"#step-{steps}").inner_text()
    screenshot(auditor, "audit-replay")
