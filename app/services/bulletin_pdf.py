"""The bulletin as a printable PDF, with its charts, drawn by ReportLab.

Chinese text uses the Adobe CID font STSong-Light (宋体), which every PDF reader supplies:
no font file to ship or embed, and the PDF stays small. Charts are ReportLab vector
graphics drawn from the stored content, so the PDF shows exactly what was published.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..models import Bulletin
from .bulletin_text import points, rate

FONT = "STSong-Light"
BLUE, RED, GREEN, AMBER = (colors.HexColor(c) for c in ("#1a56a6", "#c62828", "#2e7d32", "#b26a00"))
SERIES = (BLUE, GREEN, AMBER, RED)
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

TITLE = ParagraphStyle("title", fontName=FONT, fontSize=18, leading=24, alignment=1, spaceAfter=4 * mm)
HEADING = ParagraphStyle("heading", fontName=FONT, fontSize=13, leading=18, spaceBefore=5 * mm, spaceAfter=2 * mm)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=15)
CELL = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10)


def _table(rows: list[list[Any]], widths: list[float] | None = None) -> Table:
    table = Table([[Paragraph(str(value), CELL) if isinstance(value, str) else value for value in row]
                   for row in rows], colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0fe")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8ccd2")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def _figure_rows(items: list[dict[str, Any]], first: str, ranked: bool) -> list[list[Any]]:
    head = (["排名"] if ranked else []) + [first, "有效评价", "好评率", "好评率环比", "差评", "差评率", "申诉排除",
                                           "差评工单", "按期联系率", "按期整改率", "按期办结率", "实名回访整改率", "当前超期"]
    rows = [head]
    for item in items:
        ratings, cases = item["ratings"], item["cases"]
        rank = item.get("rank")
        rows.append(([str(rank) if rank is not None else "—"] if ranked else []) + [
            item["label"], str(ratings["valid"]), rate(ratings["good_rate"]),
            points(item.get("change", {}).get("good_rate")), str(ratings["bad"]), rate(ratings["bad_rate"]),
            str(ratings["excluded"]), str(cases["opened"]), rate(cases["contact_rate"]), rate(cases["rectify_rate"]),
            rate(cases["close_rate"]), rate(cases["real_name_rate"]), str(cases["overdue_open"])])
    return rows


def _caption(drawing: Drawing, text: str) -> None:
    drawing.add(String(drawing.width / 2, drawing.height - 12, text, fontName=FONT, fontSize=10, textAnchor="middle"))


def _bars(title: str, labels: list[str], series: list[tuple[str, list[float | None]]], width: float) -> Drawing:
    drawing = Drawing(width, 200)
    _caption(drawing, title)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 45, width - 170, 120
    chart.data = [[value or 0 for value in values] for _name, values in series] or [[0]]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, 100
    chart.valueAxis.labels.fontName = FONT
    chart.categoryAxis.categoryNames = [label[:8] for label in labels] or [""]
    chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize = FONT, 7
    chart.categoryAxis.labels.angle, chart.categoryAxis.labels.boxAnchor = 30, "ne"
    for index in range(len(series)):
        chart.bars[index].fillColor = SERIES[index % len(SERIES)]
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y, legend.fontName, legend.fontSize = width - 120, 160, FONT, 8
    legend.colorNamePairs = [(SERIES[i % len(SERIES)], name) for i, (name, _v) in enumerate(series)]
    drawing.add(legend)
    return drawing


def _trend(trend: list[dict[str, Any]], width: float) -> Drawing:
    """Months without valid ratings have no rate: they are left out, not drawn as 0."""
    trend = [row for row in trend if row["valid"]] or trend[-1:]
    drawing = Drawing(width, 200)
    _caption(drawing, "近12个月好评率与差评率（%）")
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 40, 45, width - 170, 120
    chart.data = [[row["good_rate"] or 0 for row in trend], [row["bad_rate"] or 0 for row in trend]]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, 100
    chart.categoryAxis.categoryNames = [row["month"][2:] for row in trend]
    chart.categoryAxis.labels.fontSize = 7
    chart.lines[0].strokeColor, chart.lines[1].strokeColor = GREEN, RED
    for index in (0, 1):
        chart.lines[index].symbol = makeMarker("FilledCircle")
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y, legend.fontName, legend.fontSize = width - 120, 160, FONT, 8
    legend.colorNamePairs = [(GREEN, "好评率"), (RED, "差评率")]
    drawing.add(legend)
    return drawing


def _heatmap(heat: dict[str, Any]) -> Table:
    cells = {(x, y): n for x, y, n in heat["cells"]}
    top = max(heat["max"], 1)
    rows = [["部门"] + heat["dimensions"]]
    rows += [[dept] + [str(cells.get((x, y), "")) for x in range(len(heat["dimensions"]))]
             for y, dept in enumerate(heat["departments"])]
    table = _table(rows)
    for (x, y), count in cells.items():
        shade = colors.Color(0.78, 0.16, 0.16, alpha=0.15 + 0.6 * count / top)
        table.setStyle(TableStyle([("BACKGROUND", (x + 1, y + 1), (x + 1, y + 1), shade)]))
    return table


def render(bulletin: Bulletin) -> bytes:
    content = bulletin.content
    buffer = io.BytesIO()
    page = landscape(A4)
    width = page[0] - 30 * mm
    document = SimpleDocTemplate(buffer, pagesize=page, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=12 * mm,
                                 bottomMargin=12 * mm, title=content["title"], author="政务服务“好差评”差评办理系统")
    total, coverage = content["total"], content["coverage"]
    story: list[Any] = [
        Paragraph(content["title"], TITLE),
        Paragraph(f"统计期间：{content['period']['label']}　数据截至：{content['as_of'][:16].replace('T', ' ')}　"
                  f"第 {bulletin.revision} 版", BODY),
        Paragraph("一、总体情况", HEADING),
        Paragraph(f"本月有效评价 {total['ratings']['valid']} 条，好评率 {rate(total['ratings']['good_rate'])}"
                  f"（环比 {points(total['change']['good_rate'])} 个百分点），差评 {total['ratings']['bad']} 条，"
                  f"差评率 {rate(total['ratings']['bad_rate'])}；因申诉成立排除评价 {total['ratings']['excluded']} 条。"
                  f"差评工单 {total['cases']['opened']} 件，按期联系率 {rate(total['cases']['contact_rate'])}，"
                  f"按期整改率 {rate(total['cases']['rectify_rate'])}，按期办结率 {rate(total['cases']['close_rate'])}，"
                  f"实名差评回访整改率 {rate(total['cases']['real_name_rate'])}，当前超期 {total['cases']['overdue_open']} 件。"
                  f"事项覆盖率 {rate(coverage['items_rate'])}，部门覆盖率 {rate(coverage['departments_rate'])}，"
                  f"工作人员覆盖率 {rate(coverage['staff_rate'])}。", BODY),
        _trend(content["trend"], width),
        Paragraph("二、部门排名", HEADING),
        _table(_figure_rows(content["departments"], "部门", ranked=True)),
        _bars("各部门好评率与差评率（%）", [row["label"] for row in content["departments"] if row["ratings"]["valid"]],
              [("好评率", [row["ratings"]["good_rate"] for row in content["departments"] if row["ratings"]["valid"]]),
               ("差评率", [row["ratings"]["bad_rate"] for row in content["departments"] if row["ratings"]["valid"]])],
              width),
        _bars("各部门按期办理率（%）", [row["label"] for row in content["departments"] if row["cases"]["opened"]],
              [(name, [row["cases"][key] for row in content["departments"] if row["cases"]["opened"]])
               for name, key in (("按期联系", "contact_rate"), ("按期整改", "rectify_rate"),
                                 ("按期办结", "close_rate"), ("实名回访整改", "real_name_rate"))], width),
        Paragraph("三、线下大厅与线上渠道", HEADING),
        _table(_figure_rows(content["channel_kinds"], "渠道类别", ranked=False)),
        Spacer(1, 3 * mm),
        _table(_figure_rows(content["channels"], "评价渠道", ranked=True)),
        Paragraph("四、督办提示", HEADING),
    ]
    if content["flagged"]:
        story += [Paragraph(f"{item['label']}：" + "；".join(flag["text"] for flag in item["flags"]), BODY)
                  for item in content["flagged"]]
    else:
        story.append(Paragraph("本月无需督办的部门。", BODY))
    story += [KeepTogether([Paragraph("五、差评问题分布（维度 × 部门）", HEADING), _heatmap(content["heatmap"])])]
    if coverage["unrated_items"]:
        story += [Paragraph("六、本月未获评价的事项", HEADING), _table(
            [["事项编码", "事项名称", "部门"]] + [[i["code"], i["name"], i["department"]]
                                         for i in coverage["unrated_items"]])]
    document.build(story)
    return buffer.getvalue()
