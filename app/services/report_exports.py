"""Reports and bulletins as Excel (.xlsx: Chinese headers, numbers as numbers, rates as
percentages) and CSV (UTF-8 with a BOM, so that Excel opens it in Chinese). Rows are the
``as_dict`` form of the figures, which is also what a stored bulletin holds."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .report_figures import Figures

INT, RATE, TEXT, POINTS = "int", "rate", "text", "points"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
# (header, path in the row dict, kind)
FIGURE_COLUMNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("有效评价数", ("ratings", "valid"), INT),
    ("非常满意", ("ratings", "levels", "very_satisfied"), INT),
    ("满意", ("ratings", "levels", "satisfied"), INT),
    ("基本满意", ("ratings", "levels", "basically_satisfied"), INT),
    ("不满意", ("ratings", "levels", "dissatisfied"), INT),
    ("非常不满意", ("ratings", "levels", "very_dissatisfied"), INT),
    ("好评数", ("ratings", "good"), INT),
    ("差评数", ("ratings", "bad"), INT),
    ("好评率", ("ratings", "good_rate"), RATE),
    ("差评率", ("ratings", "bad_rate"), RATE),
    ("申诉成立排除的评价", ("ratings", "excluded"), INT),
    ("追评数", ("ratings", "follow_ups"), INT),
    ("追评好评数", ("ratings", "follow_ups_good"), INT),
    ("整改后追评数", ("ratings", "after_rectification"), INT),
    ("整改后追评好评数", ("ratings", "after_rectification_good"), INT),
    ("差评工单数", ("cases", "opened"), INT),
    ("申诉成立排除的工单", ("cases", "excluded"), INT),
    ("当场解决", ("cases", "on_spot"), INT),
    ("复杂件", ("cases", "complex"), INT),
    ("应联系（实名）", ("cases", "contact_due"), INT),
    ("3个工作日内联系", ("cases", "contacted_on_time"), INT),
    ("超期联系", ("cases", "contacted_late"), INT),
    ("按期联系率", ("cases", "contact_rate"), RATE),
    ("应整改", ("cases", "rectify_due"), INT),
    ("按期整改（5/15个工作日）", ("cases", "rectified_on_time"), INT),
    ("超期整改", ("cases", "rectified_late"), INT),
    ("按期整改率", ("cases", "rectify_rate"), RATE),
    ("应办结", ("cases", "close_due"), INT),
    ("已办结", ("cases", "closed"), INT),
    ("按期办结", ("cases", "closed_on_time"), INT),
    ("按期办结率", ("cases", "close_rate"), RATE),
    ("在办", ("cases", "open"), INT),
    ("当前超期", ("cases", "overdue_open"), INT),
    ("曾超期", ("cases", "overdue_ever"), INT),
    ("实名差评", ("cases", "real_name"), INT),
    ("实名应回访整改", ("cases", "real_name_due"), INT),
    ("实名已回访整改", ("cases", "real_name_done"), INT),
    ("实名回访整改率", ("cases", "real_name_rate"), RATE),
    ("提出申诉", ("cases", "appeals_filed"), INT),
    ("申诉成立", ("cases", "appeals_upheld"), INT),
    ("申诉不成立", ("cases", "appeals_rejected"), INT),
    ("复核", ("cases", "rechecks"), INT),
    ("复核撤销原决定", ("cases", "rechecks_overturned"), INT),
)
RANK_COLUMNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("上月有效评价数", ("previous", "valid"), INT),
    ("上月好评率", ("previous", "good_rate"), RATE),
    ("好评率环比（百分点）", ("change", "good_rate"), POINTS),
    ("差评率环比（百分点）", ("change", "bad_rate"), POINTS),
    ("上月排名", ("previous_rank",), INT),
)


def _get(row: dict[str, Any], path: Sequence[str]) -> Any:
    value: Any = row
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def safe_text(value: Any) -> str:
    """Text that a spreadsheet will not run as a formula (a name typed as "=…")."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _header(header: str, kind: str, for_csv: bool) -> str:
    return f"{header}（%）" if kind == RATE and for_csv else header


class Table:
    """A sheet: a title, headers with their kinds, and rows of values."""

    def __init__(self, title: str, headers: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]) -> None:
        self.title, self.headers, self.rows = title, list(headers), [list(row) for row in rows]


def figure_table(title: str, rows: Iterable[dict[str, Any]], *, first: str, ranked: bool = False) -> Table:
    columns = FIGURE_COLUMNS + (RANK_COLUMNS if ranked else ())
    headers = ([("排名", INT)] if ranked else []) + [(first, TEXT)] + [(header, kind) for header, _p, kind in columns]
    body = [([row.get("rank")] if ranked else []) + [row["label"]] + [_get(row, path) for _h, path, _k in columns]
            for row in rows]
    return Table(title, headers, body)


def report_tables(figures: Figures, group_label: str) -> list[Table]:
    rows = [row.as_dict() for row in figures.rows] + [figures.total.as_dict()]
    tables = [figure_table(f"{figures.period.label}{group_label}", rows, first=group_label.removeprefix("按"))]
    if figures.coverage is not None:
        coverage = figures.coverage.as_dict()
        tables.append(Table("覆盖率", [("对象", TEXT), ("总数", INT), ("获得评价", INT), ("覆盖率", RATE)], [
            ("服务事项", coverage["items"], coverage["items_rated"], coverage["items_rate"]),
            ("服务部门", coverage["departments"], coverage["departments_rated"], coverage["departments_rate"]),
            ("工作人员", coverage["staff"], coverage["staff_rated"], coverage["staff_rate"])]))
        tables.append(Table("未获评价的事项", [("事项编码", TEXT), ("事项名称", TEXT), ("部门", TEXT)],
                            [(i["code"], i["name"], i["department"]) for i in coverage["unrated_items"]]))
    return tables


def bulletin_tables(content: dict[str, Any]) -> list[Table]:
    total, coverage = content["total"], content["coverage"]
    overview = [("统计期间", content["period"]["label"]), ("数据截至", content["as_of"][:16].replace("T", " "))]
    overview += [(header, _get(total, path)) for header, path, _kind in FIGURE_COLUMNS]
    overview += [(header, _get(total, path)) for header, path, _kind in RANK_COLUMNS[:4]]
    overview += [("事项覆盖率", coverage["items_rate"]), ("部门覆盖率", coverage["departments_rate"]),
                 ("工作人员覆盖率", coverage["staff_rate"])]
    kinds = {header: kind for header, _p, kind in FIGURE_COLUMNS + RANK_COLUMNS}
    kinds.update({"事项覆盖率": RATE, "部门覆盖率": RATE, "工作人员覆盖率": RATE})
    heat = content["heatmap"]
    cells = {(x, y): n for x, y, n in heat["cells"]}
    return [
        Table("总体情况", [("指标", TEXT), ("数值", "mixed")], [(k, (kinds.get(k, TEXT), v)) for k, v in overview]),
        figure_table("部门排名", content["departments"], first="部门", ranked=True),
        figure_table("线下大厅与线上渠道", content["channel_kinds"], first="渠道类别"),
        figure_table("评价渠道排名", content["channels"], first="评价渠道", ranked=True),
        Table("督办提示", [("部门", TEXT), ("督办事由", TEXT)],
              [(item["label"], flag["text"]) for item in content["flagged"] for flag in item["flags"]]),
        Table("差评维度分布", [("部门", TEXT)] + [(d, INT) for d in heat["dimensions"]],
              [[dept] + [cells.get((x, y), 0) for x in range(len(heat["dimensions"]))]
               for y, dept in enumerate(heat["departments"])]),
        Table("月度趋势", [("月份", TEXT), ("有效评价数", INT), ("好评数", INT), ("差评数", INT), ("好评率", RATE),
                       ("差评率", RATE)],
              [(t["label"], t["valid"], t["good"], t["bad"], t["good_rate"], t["bad_rate"]) for t in content["trend"]]),
        Table("未获评价的事项", [("事项编码", TEXT), ("事项名称", TEXT), ("部门", TEXT)],
              [(i["code"], i["name"], i["department"]) for i in coverage["unrated_items"]]),
    ]


def _cell(sheet: Worksheet, row: int, column: int, kind: str, value: Any) -> None:
    if kind == "mixed":
        kind, value = value
    cell = sheet.cell(row=row, column=column)
    if value is None:
        return
    if kind == RATE:
        cell.value = float(value) / 100  # a number, shown as a percentage
        cell.number_format = "0.00%"
    elif kind == POINTS:
        cell.value = float(value)
        cell.number_format = "+0.00;-0.00;0.00"
    elif kind == INT:
        cell.value = int(value)
    else:
        cell.value = safe_text(value)


def xlsx(tables: Sequence[Table]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.title[:31])
        for column, (header, _kind) in enumerate(table.headers, start=1):
            cell = sheet.cell(row=1, column=column, value=header)
            cell.font, cell.alignment = Font(bold=True), Alignment(wrap_text=True, vertical="top")
            sheet.column_dimensions[get_column_letter(column)].width = 28 if column == 1 else 12
        for number, values in enumerate(table.rows, start=2):
            for column, ((_header, kind), value) in enumerate(zip(table.headers, values), start=1):
                _cell(sheet, number, column, kind, value)
        sheet.freeze_panes = "B2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _csv_value(kind: str, value: Any) -> Any:
    if kind == "mixed":
        kind, value = value
    if value is None:
        return ""
    if kind in (RATE, POINTS):
        return f"{float(value):.2f}"
    return value if kind == INT else safe_text(value)


def csv_bytes(table: Table) -> bytes:
    """One table as CSV in UTF-8 with a BOM; rates in percent with two places."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_header(header, kind, True) for header, kind in table.headers])
    for values in table.rows:
        writer.writerow([_csv_value(kind, value) for (_h, kind), value in zip(table.headers, values)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
