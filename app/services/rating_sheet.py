"""Reading sheets of paper ratings (.csv or .xlsx) and turning each row into the intake's
JSON: Chinese or JSON-field headers, Excel's number and date cells, Beijing time for times
without a zone. ``app.services.rating_import`` feeds the rows to intake."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time
from itertools import zip_longest
from pathlib import Path
from types import TracebackType
from typing import Any

from calendars import SHANGHAI
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

COLUMNS: dict[str, str] = {  # the paper form's column -> the intake field
    "评价编号": "id", "办件编号": "service_record_no", "事项编码": "service_item_code",
    "部门统一社会信用代码": "department_code", "工号": "staff_no", "评价渠道": "channel", "满意度": "level",
    "评价维度": "dimensions", "文字评价": "comment", "评价时间": "evaluated_at", "追评": "follow_up",
    "行政区划": "region_code", "实名": "real_name", "评价人": "name", "联系电话": "phone",
    "证件类型": "id_type", "证件号码": "id_no", "评价人类型": "person_type"}
HEADERS: dict[str, str] = {name: header for header, name in COLUMNS.items()}
REQUIRED_COLUMNS = ("id", "service_record_no", "service_item_code", "level", "evaluated_at")
EVALUATOR_FIELDS = frozenset({"real_name", "name", "phone", "id_type", "id_no", "person_type"})
UNNAMED = "_"  # a row's value under a column without a header: its column number
# Fields Excel likes to turn into numbers (and, past 15 digits, to round).
_CODES = frozenset({"id", "service_record_no", "service_item_code", "department_code", "staff_no",
                    "region_code", "phone", "id_no"})
_SEPARATORS = re.compile(r"[、,，;；|｜]")
_SCIENTIFIC = re.compile(r"\d+(?:\.\d+)?[eE]\+\d+")
_LOCAL_TIME = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
                         r"(?:[ T]+(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2}))?)?")
_YES, _NO = frozenset({"是", "true", "yes", "y", "1"}), frozenset({"否", "false", "no", "n", "0"})
LOST_DIGITS = "Excel把该长数字存成了数值，超过15位的部分已丢失：请将该列设为文本格式后重新填写"
Row = dict[str, Any]
Records = tuple[Iterable[tuple[Any, ...]], int, Callable[[], None]]  # a file's rows, how many, close


class ImportFileError(ValueError):
    """The file cannot be read as a rating sheet; the message is one Chinese sentence."""




class _CellError(ValueError):
    pass


# --- reading the file ------------------------------------------------------------------------

def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _field_of(header: Any) -> str | None:
    name = str(header).replace("\ufeff", "").strip()
    return COLUMNS.get(name) or (name.lower() if name.lower() in HEADERS else None)


def _fields(header: tuple[Any, ...]) -> list[str | None]:
    fields: list[str | None] = []
    unknown: list[str] = []
    twice: list[str] = []
    for cell in header:
        name = None if _blank(cell) else _field_of(cell)
        if not _blank(cell) and name is None:
            unknown.append(str(cell).strip())
        elif name is not None and name in fields:
            twice.append(HEADERS[name])
        fields.append(name)
    if unknown:
        raise ImportFileError(f"无法识别的列：{'、'.join(unknown)}（可用的列：{'、'.join(COLUMNS)}，或对应的英文字段名）")
    if twice:
        raise ImportFileError(f"列重复：{'、'.join(twice)}")
    missing = [f"{HEADERS[name]}（{name}）" for name in REQUIRED_COLUMNS if name not in fields]
    if missing:
        raise ImportFileError(f"缺少必填列：{'、'.join(missing)}")
    return fields


class RatingRows(Iterator[tuple[int, Row]]):
    """The non-empty rows after the header, as ``(row number, {field: cell value})``.
    ``total`` counts the rows after the header (empty ones too), for a progress bar."""

    def __init__(self, records: Iterator[tuple[int, tuple[Any, ...]]], fields: list[str | None],
                 total: int, close: Callable[[], None]) -> None:
        self.fields, self.total, self._records, self._close = fields, total, records, close

    def __next__(self) -> tuple[int, Row]:
        for number, cells in self._records:
            row: Row = {}
            for column, (name, value) in enumerate(zip_longest(self.fields, cells), start=1):
                if _blank(value):
                    continue
                if name is None:
                    row.setdefault(UNNAMED, column)
                else:
                    row[name] = value
            if row:
                return number, row
        self.close()
        raise StopIteration

    def close(self) -> None:
        self._close()

    def __enter__(self) -> RatingRows:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def _csv_records(path: Path) -> Records:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GB18030 (GBK)
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError("文件编码无法识别：请将CSV另存为UTF-8或GB18030（GBK）编码")
    try:
        lines = [tuple(record) for record in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as error:
        raise ImportFileError(f"CSV格式错误：{error}") from None
    return lines, len(lines), lambda: None


def _xlsx_records(path: Path) -> Records:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ImportFileError(f"无法读取Excel文件：{error}") from None
    sheet = book.worksheets[0]
    stated = sheet.max_row
    sheet.reset_dimensions()  # the stated size may be wrong: read every row there is
    total = stated if stated else sum(1 for _ in sheet.iter_rows(values_only=True))
    return sheet.iter_rows(values_only=True), total, book.close


def read_rows(path: str | Path) -> RatingRows:
    """Open a rating sheet and check its header; ``ImportFileError`` when it cannot be used."""
    path = Path(path)
    readers = {".csv": _csv_records, ".xlsx": _xlsx_records}
    if path.suffix.lower() == ".xls":
        raise ImportFileError("不支持旧版Excel（.xls）文件：请在Excel中另存为.xlsx")
    if path.suffix.lower() not in readers:
        raise ImportFileError(f"不支持的文件类型“{path.suffix or '无扩展名'}”：请使用.csv或.xlsx文件")
    try:
        records, total, close = readers[path.suffix.lower()](path)
    except OSError as error:
        raise ImportFileError(f"无法读取文件{path.name}：{error.strerror or error}") from None
    numbered = enumerate(records, start=1)
    try:
        for number, cells in numbered:
            if not all(_blank(cell) for cell in cells):
                return RatingRows(numbered, _fields(tuple(cells)), total - number, close)
        raise ImportFileError("文件中没有表头：第一行应为列名（如评价编号、办件编号、满意度）")
    except BaseException:
        close()
        raise


# --- one row to the intake JSON --------------------------------------------------------------

def _text(value: Any, code: bool = False) -> str:
    if isinstance(value, bool):
        raise _CellError("应为文本")
    if isinstance(value, (datetime, date, time)):
        raise _CellError("Excel把该单元格当作了日期：请将该列设为文本格式后重新填写")
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        if code and abs(value) >= 1e15:
            raise _CellError(LOST_DIGITS)
        return str(value)
    text = str(value).strip()
    if code and _SCIENTIFIC.fullmatch(text):
        raise _CellError(f"“{text}”是科学计数法，长数字已丢失精度：请将该列设为文本格式后重新填写")
    return text


def _level(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        return int(text) if text.isdecimal() else text  # a CSV holds text only: "5" is the code 5
    return value


def _yes_no(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in _YES or text in _NO:
        return text in _YES
    raise _CellError("应填“是”或“否”")


def _moment(value: Any) -> str:
    """ISO 8601 with offset; a time written without one is Beijing time."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            match = _LOCAL_TIME.fullmatch(text)
            if match is None:
                raise _CellError("评价时间格式不正确，应如2026-11-20 10:30") from None
            try:
                moment = datetime(*(int(part or 0) for part in match.groups()))  # type: ignore[misc]
            except ValueError:
                raise _CellError("评价时间不是有效的日期时间") from None
    elif isinstance(value, (int, float)):
        raise _CellError("评价时间是数字而不是日期时间：请将该列设为日期格式，或写成2026-11-20 10:30")
    else:
        raise _CellError("评价时间应为日期时间，如2026-11-20 10:30")
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.isoformat()


def _dimensions(value: Any) -> list[str]:
    return [part.strip() for part in _SEPARATORS.split(_text(value)) if part.strip()]


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "level": _level, "dimensions": _dimensions, "evaluated_at": _moment, "follow_up": _yes_no,
    "real_name": _yes_no}


def to_intake(row: Row, default_channel: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The intake JSON of one row (channel defaults to the source's), and the problems of
    cells that cannot be converted, keyed as intake keys its own."""
    raw: dict[str, Any] = {}
    evaluator: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, value in row.items():
        if name == UNNAMED:
            problems[UNNAMED] = f"第{value}列没有列名，该列的内容无法导入"
            continue
        try:
            converted = _CONVERT[name](value) if name in _CONVERT else _text(value, name in _CODES)
        except _CellError as problem:
            problems[f"evaluator.{name}" if name in EVALUATOR_FIELDS else name] = str(problem)
            continue
        (evaluator if name in EVALUATOR_FIELDS else raw)[name] = converted
    raw.setdefault("channel", default_channel)
    if evaluator:
        raw["evaluator"] = evaluator
    return raw, problems
