"""The report pages: who sees what (a lead only their own department, another one 404;
other roles 403), filters and their errors, Excel and CSV exports, the bulletin page, its
PDF and its generation (CSRF), and the hall's screen."""

from __future__ import annotations

import io
import json
import re

import pytest
from flask import Flask
from openpyxl import load_workbook
from pdfminer.high_level import extract_text
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Bulletin
from app.services import bulletins
from workflows.clock import ManualClock

from .case_support import anonymous, signed_in
from .conftest import CSRF_FIELD
from .report_month import Month, build_month
from .test_cases import beijing

OCTOBER = "month=2026-10"


@pytest.fixture
def month(session: Session, clock: ManualClock) -> Month:
    return build_month(session, clock)


def body(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_the_report_page_for_a_supervisor(app: Flask, month: Month) -> None:
    client = signed_in(app, "dc.sup")
    page = client.get(f"/reports?{OCTOBER}")
    html = body(page)
    assert page.status_code == 200
    assert "统计报表 · 2026年10月" in html and "90.53%" in html and "9.47%" in html
    assert '<script type="application/json" id="report-data">' in html and "vendor/echarts/echarts.min.js" in html
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    assert data["ranking"]["labels"] == ["新建区民政局", "新建区医疗保障局"]
    assert [row["valid"] for row in data["trend"] if row["valid"]] == [15, 95]
    assert data["heatmap"]["max"] == 2
    assert "新建区市场监督管理局" in html and "本期未获评价的事项（2 项）" in html
    assert "李四" not in html and "13900001111" not in html  # no evaluator's personal data
    by_channel = body(client.get(f"/reports?{OCTOBER}&group=channel_kind"))
    assert "线下（政务服务大厅）" in by_channel and "95.06%" in by_channel
    other = body(client.get(f"/reports?start=2026-10-01&end=2026-10-01&group=channel&department={month.b.id}"))
    assert "2026-10-01" in other and "政务服务网" in other


def test_a_lead_sees_only_their_department(app: Flask, month: Month) -> None:
    lead = signed_in(app, "mzj.lead")
    page = body(lead.get(f"/reports?{OCTOBER}"))
    assert "新建区民政局" in page and "94.94%" in page and "新建区医疗保障局" not in page
    assert '<select name="department">' not in page
    assert lead.get(f"/reports?{OCTOBER}&department={month.a.id}").status_code == 404
    assert lead.get(f"/reports?{OCTOBER}&department={month.b.id}").status_code == 200
    assert lead.get(f"/reports/export.xlsx?{OCTOBER}&department={month.a.id}").status_code == 404
    assert lead.get("/reports/bulletins").status_code == 403
    screen = lead.get("/reports/dashboard.json").get_json()
    assert screen["open_total"] == 2 and screen["overdue"] == 1  # B's C5 and C6; C6 overdue


def test_who_may_open_the_reports(app: Flask, session: Session, month: Month) -> None:
    assert anonymous(app).get("/reports").status_code == 302  # to the login page
    handler = signed_in(app, "ybj.h")
    for path in ("/reports", "/reports/export.csv", "/reports/bulletins", "/reports/dashboard", "/reports/bulletins/2026-10"):
        assert handler.get(path).status_code == 403, path
    auditor = signed_in(app, "sj.aud")
    assert auditor.get(f"/reports?{OCTOBER}").status_code == 200
    assert auditor.get(f"/reports?{OCTOBER}&department=999999").status_code == 404


def test_bad_filters_are_answered_naming_the_field(app: Flask, month: Month) -> None:
    client = signed_in(app, "xt.adm")
    for query, message in (("month=2026-13", "月份应为 YYYY-MM 格式"), ("start=2026-10-05&end=2026-10-01",
                                                                    "结束日期不能早于起始日期"),
                           ("start=2026-10-01", "请填写结束日期"), ("start=yesterday&end=2026-10-01",
                                                                 "起始日期应为 YYYY-MM-DD 格式的日期"),
                           ("group=weekday", "分组方式无效"), ("department=abc", "部门应为部门编号"),
                           ("start=2018-01-01&end=2026-01-01", "统计期间最长")):
        response = client.get(f"/reports?{query}")
        assert response.status_code == 400 and message in body(response), query
    assert client.get("/reports/export.xlsx?month=2026-13").status_code == 400
    assert client.get(f"/reports/export.pdf?{OCTOBER}").status_code == 404


def test_excel_and_csv_exports(app: Flask, month: Month) -> None:
    client = signed_in(app, "dc.sup")
    response = client.get(f"/reports/export.xlsx?{OCTOBER}")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:4] == ["部门", "有效评价数", "非常满意", "满意"] and "实名回访整改率" in headers
    rows = {row[0]: dict(zip(headers, row)) for row in sheet.iter_rows(min_row=2, values_only=True)}
    a = rows["新建区医疗保障局"]
    assert a["有效评价数"] == 16 and isinstance(a["有效评价数"], int)
    assert a["好评率"] == pytest.approx(0.6875) and a["申诉成立排除的评价"] == 1
    assert rows["合计"]["差评工单数"] == 10 and rows["新建区市场监督管理局"]["好评率"] is None
    rate_cell = next(c for c in sheet[2] if c.column == headers.index("好评率") + 1)
    assert rate_cell.number_format == "0.00%"
    assert [s.title for s in book.worksheets] == ["2026年10月按部门", "覆盖率", "未获评价的事项"]
    csv = client.get(f"/reports/export.csv?{OCTOBER}&group=channel")
    assert csv.status_code == 200 and csv.mimetype == "text/csv" and csv.data.startswith(b"\xef\xbb\xbf")
    lines = csv.data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("评价渠道,有效评价数,非常满意") and "好评率（%）" in lines[0]
    assert lines[1].startswith("窗口评价器,75,68,4,1,1,1,73,2,97.33,2.67,1,")
    assert lines[-1].startswith("合计,95,76,7,3,6,3,86,9,90.53,9.47,1,")


def test_the_bulletin_pages_pdf_and_generation(app: Flask, session: Session, month: Month) -> None:
    supervisor = signed_in(app, "dc.sup")
    listing = supervisor.get("/reports/bulletins")
    assert listing.status_code == 200 and "尚无通报" in body(listing)
    token = CSRF_FIELD.search(body(listing)).group(1)
    assert supervisor.post("/reports/bulletins", data={"month": "2026-10"}).status_code == 400  # no CSRF token
    refused = supervisor.post("/reports/bulletins", data={"month": "2026-11", "csrf_token": token})
    assert refused.status_code == 400 and "2026年11月尚未结束" in body(refused)
    assert "月份应为 YYYY-MM" in body(supervisor.post("/reports/bulletins", data={"month": "10/2026",
                                                                                "csrf_token": token}))
    made = supervisor.post("/reports/bulletins", data={"month": "2026-10", "csrf_token": token})
    assert made.status_code == 302 and made.headers["Location"] == "/reports/bulletins/2026-10"
    assert session.scalar(select(func.count()).select_from(Bulletin)) == 1
    page = body(supervisor.get("/reports/bulletins/2026-10"))
    assert "2026年10月政务服务“好差评”情况通报" in page and "第 1 版" in page
    assert "差评集中：差评 5 条，差评率 31.25%" in page and "整改超期未完成：1 件" in page
    assert "dc.sup" in page and "李四" not in page
    assert "服务事项 66.67%（4/6），服务部门 66.67%（2/3），工作人员 75.00%（3/4）" in page
    again = supervisor.post("/reports/bulletins", data={"month": "2026-10", "csrf_token": token})
    assert again.status_code == 302 and session.scalar(select(func.count()).select_from(Bulletin)) == 1
    supervisor.post("/reports/bulletins", data={"month": "2026-10", "regenerate": "y", "csrf_token": token})
    assert [b.revision for b in bulletins.revisions(session, "2026-10")] == [2, 1]
    assert "第 1 版" in body(supervisor.get("/reports/bulletins/2026-10?revision=1"))
    assert supervisor.get("/reports/bulletins/2026-10?revision=9").status_code == 404
    assert supervisor.get("/reports/bulletins/2026-10?revision=x").status_code == 400
    assert supervisor.get("/reports/bulletins/2026-99").status_code == 404
    pdf = supervisor.get("/reports/bulletins/2026-10.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    text = extract_text(io.BytesIO(pdf.data))
    assert "2026年10月政务服务“好差评”情况通报" in text and "第 2 版" in text
    assert "新建区民政局" in text and "94.94%" in text and "差评集中" in text and "近12个月好评率与差评率" in text
    book = load_workbook(io.BytesIO(supervisor.get("/reports/bulletins/2026-10.xlsx").data))
    assert [s.title for s in book.worksheets] == ["总体情况", "部门排名", "线下大厅与线上渠道", "评价渠道排名", "督办提示",
                                                 "差评维度分布", "月度趋势", "未获评价的事项"]
    ranking = list(book["部门排名"].iter_rows(values_only=True))
    assert ranking[0][:3] == ("排名", "部门", "有效评价数") and ranking[1][:3] == (1, "新建区民政局", 79)
    csv = supervisor.get("/reports/bulletins/2026-10.csv").data.decode("utf-8-sig")
    assert csv.splitlines()[1].startswith("1,新建区民政局,79,")
    # An auditor reads bulletins but does not generate them.
    auditor = signed_in(app, "sj.aud")
    assert auditor.get("/reports/bulletins/2026-10").status_code == 200
    assert "生成通报" not in body(auditor.get("/reports/bulletins"))
    own_token = CSRF_FIELD.search(body(auditor.get("/reports/bulletins"))).group(1)  # the sign-out form's
    assert auditor.post("/reports/bulletins", data={"month": "2026-09", "csrf_token": own_token}).status_code == 403


def test_the_hall_screen(app: Flask, month: Month, clock: ManualClock) -> None:
    clock.set(beijing("2026-10-29T16:00:00"))  # C7 came at 15:00, resolved at 15:30; B's 10-29 rating at 10:00
    client = signed_in(app, "dc.sup")
    page = client.get("/reports/dashboard")
    html = body(page)
    assert page.status_code == 200 and "政务服务“好差评”实时监测" in html and "js/dashboard.js" in html
    data = client.get("/reports/dashboard.json").get_json()
    assert (data["ratings_today"], data["valid_today"], data["bad_today"], data["good_rate_today"]) == (2, 2, 1, 50.0)
    assert data["cases_today"] == 1 and data["refresh_seconds"] == 30
    assert [(r["time"], r["level"], r["department"]) for r in data["recent"]] == [
        ("15:00", "不满意", "新建区民政局"), ("10:00", "基本满意", "新建区民政局")]
    stages = {s["stage"]: s["value"] for s in data["open_by_stage"] if s["value"]}
    assert stages == {"on_spot": 1, "contact": 1, "appeal": 1} and data["open_total"] == 3  # C8, C6, C5
    assert data["overdue"] == 1 and data["good_rate_month"] == 90.53
    assert "李四" not in json.dumps(data, ensure_ascii=False) and "等候时间太长" not in html
