"""The case file as a printable PDF (A4, Chinese text in the PDF's standard CID font
STSong-Light, so no font file is needed)."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from calendars import SHANGHAI
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
BODY = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=13)
SMALL = ParagraphStyle("small", fontName=FONT, fontSize=8, leading=11)
HEADING = ParagraphStyle("heading", fontName=FONT, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4)
TITLE = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, spaceAfter=6)
GRID = TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0fe")),
                   ("VALIGN", (0, 0), (-1, -1), "TOP")])


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _time(value: str | None) -> str:
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _p(value: Any, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(_text(value)).replace("\n", "<br/>"), style)


def _facts(rows: list[tuple[str, Any]]) -> Table:
    table = Table([[_p(k), _p(v)] for k, v in rows], colWidths=[35 * mm, 140 * mm])
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]))
    return table


def _grid(header: list[str], rows: list[list[Any]], widths: list[float]) -> Table:
    table = Table([[_p(h) for h in header]] + [[_p(c, SMALL) for c in row] for row in rows],
                  colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(GRID)
    return table


def render_case_file(data: dict[str, Any]) -> bytes:
    case, rating, record = data["case"], data["rating"], data["service_record"]
    evaluator = rating["evaluator"]
    story: list[Any] = [
        Paragraph(f"差评案卷 {escape(case['case_no'])}", TITLE),
        _p(f"导出时间：{_time(data['exported_at'])}　个人信息：{'完整' if data['personal_data'] == 'full' else '已脱敏'}"),
        Paragraph("案件概况", HEADING),
        _facts([("办理部门", case["department"]), ("状态", case["status"]), ("当前阶段", case["stage"]),
                ("办结结果", case["outcome"]), ("接收时间", _time(case["received_at"])),
                ("办结时间", _time(case["closed_at"])), ("复杂件", case["complex"]),
                ("复杂原因", case["complex_reason"]), ("曾超期", case["overdue"]),
                ("流程版本", case["process_version"])]),
        Paragraph("评价", HEADING),
        _facts([("满意度", rating["level"]), ("渠道", rating["channel"]), ("评价维度", "、".join(rating["dimensions"])),
                ("文字评价", rating["comment"]), ("评价时间", _time(rating["evaluated_at"])),
                ("实名", evaluator["real_name"]), ("评价人", evaluator["name"]), ("联系电话", evaluator["phone"]),
                ("证件号码", evaluator["id_no"]), ("不计入统计", rating["excluded"]),
                ("原因", rating["excluded_reason"])]),
        Paragraph("办件", HEADING),
        _facts([("办件编号", record["record_no"]), ("事项", f"{record['item_code']} {record['item_name']}"),
                ("受理时间", _time(record["accepted_at"])), ("工号", record["staff_no"])]),
        Paragraph("办理期限", HEADING),
        _grid(["期限", "截止时间", "结果"], [[d["label"], _time(d["due_at"]), d["text"] + ("（暂定）" if d["provisional"] else "")]
                                       for d in data["deadlines"]], [35, 45, 95]),
        Paragraph("办理过程", HEADING),
        _grid(["序号", "时间", "事件", "办理人", "内容"],
              [[e["seq"], _time(e["at"]), e["label"], e["actor"], "\n".join(f"{k}：{v}" for k, v in e["details"])]
               for e in data["events"]], [12, 28, 30, 25, 80]),
    ]
    if data["evidence"]:
        story += [Paragraph("证据材料", HEADING),
                  _grid(["文件", "类型", "大小（字节）", "上传人", "时间", "SHA-256"],
                        [[f["filename"], f["content_type"], f["size"], f["uploaded_by"], _time(f["uploaded_at"]),
                          f["sha256"][:16] + "…"] for f in data["evidence"]], [40, 25, 20, 20, 28, 42])]
    if data["comments"]:
        story += [Paragraph("备注", HEADING),
                  _grid(["时间", "作者", "内容"], [[_time(c["at"]), c["author"], c["body"]] for c in data["comments"]],
                        [28, 25, 122])]
    check = data["verification"]
    story += [Paragraph("核验", HEADING),
              _facts([("历史哈希链", check["chain"]), ("重演核验", check["replay"]["result"]),
                      ("链末哈希", check["history_head"])]),
              Spacer(1, 6 * mm)]
    out = BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                      bottomMargin=15 * mm, title=f"差评案卷 {case['case_no']}", author="好差评差评办理系统").build(story)
    return out.getvalue()
