"""hcp ratings import: paper ratings from CSV (UTF-8 with BOM, GB18030) and XLSX sheets, each row
through the intake service, committed in chunks, idempotent on re-import."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from calendars import SHANGHAI
from click.testing import Result
from flask import Flask
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cli.ratings import register
from app.extensions import db
from app.models import ApiKey, Case, Channel, Dimension, ItemKind, Rating, ServiceItem, ServiceRecord, StaffMember
from app.services import calendar_years, rating_import
from app.services.api_keys import create_key, revoke
from app.services.intake import ingest
from app.services.rating_import import ImportInterrupted, find_source, import_ratings
from app.services.rating_sheet import ImportFileError, read_rows, to_intake

from . import factories

NOW = datetime.now(timezone.utc)
WHEN = (NOW.astimezone(SHANGHAI) - timedelta(days=3)).replace(hour=10, minute=30, second=0, microsecond=0)
WHEN_TEXT = WHEN.strftime("%Y-%m-%d %H:%M")
HEADER = ["评价编号", "办件编号", "事项编码", "工号", "满意度", "评价维度", "文字评价", "评价时间", "实名", "评价人",
          "联系电话"]


class Seed:
    """A department with one item, one staff member and four service records."""

    def __init__(self, session: Session) -> None:
        calendar_years.reset_calendar()
        self.dept = factories.department(session, "新建区行政审批局")
        self.item = ServiceItem(code="360112-SP-0001", name="食品经营许可", kind=ItemKind.PUBLIC_SERVICE,
                                department=self.dept)
        self.staff = StaffMember(department=self.dept, staff_no="SP0101", name="王芳")
        self.records = [ServiceRecord(record_no=f"3601122026112000{n:04d}", service_item=self.item,
                                      department=self.dept, staff_member=self.staff, accepted_at=NOW)
                        for n in range(1, 5)]
        session.add_all([self.item, self.staff, *self.records])
        session.commit()

    def no(self, index: int) -> str:
        return self.records[index].record_no

    def sheet(self) -> list[list[Any]]:
        """Header, two good rows (one a bad rating), an empty row, an invalid row, a conflict."""
        code = self.item.code
        return [HEADER,
                ["P-0001", self.no(0), code, "SP0101", "非常满意", "", "", WHEN_TEXT, "否", "", ""],
                ["P-0002", self.no(1), code, "", "不满意", "服务效率、办事流程", "排队一个多小时", WHEN_TEXT, "是",
                 "张晓明", "13812341234"],
                ["", "", "", "", "", "", "", "", "", "", ""],
                ["P-0003", self.no(2), code, "", "很好", "", "", WHEN_TEXT, "是", "李雷", "123"],
                ["P-0004", self.no(0), code, "", "满意", "", "", WHEN_TEXT, "", "", ""]]


@pytest.fixture
def seed(session: Session) -> Seed:
    return Seed(session)


@pytest.fixture
def cli(app: Flask, session: Session) -> Flask:
    register(app)
    return app


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as stream:
        csv.writer(stream).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def run_import(path: Path, key: ApiKey, **options: Any):
    return import_ratings(db.sessionmaker, key, read_rows(path), NOW, **options)


def paper_key(session: Session) -> ApiKey:
    key = find_source(session, None, NOW, create=True)
    session.commit()
    return key


def invoke(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["ratings", "import", *args])


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_rows_are_stored_and_refused_rows_reported(session: Session, seed: Seed, tmp_path: Path,
                                                       encoding: str) -> None:
    path = write_csv(tmp_path / "评价表.csv", seed.sheet(), encoding)
    report = run_import(path, paper_key(session))
    assert report.counts == {"created": 2, "duplicate": 0, "invalid": 1, "conflict": 1}
    assert report.cases_opened == 1
    invalid, conflict = report.problems
    assert (invalid.row, invalid.external_id, invalid.status) == (5, "P-0003", "invalid")
    assert invalid.errors["level"].startswith("满意度应为非常满意")
    assert invalid.errors["evaluator.phone"] == "手机号码格式不正确"
    assert "第5行 level：满意度应为非常满意、满意、基本满意、不满意、非常不满意之一，或整数1-5" in invalid.lines()
    assert (conflict.row, conflict.status) == (6, "conflict")
    assert conflict.errors == {"service_record_no": "该办件已评价（一次一评）；追评请设置 follow_up"}
    good = session.scalar(select(Rating).where(Rating.external_id == "P-0001"))
    assert (good.source, good.channel, good.staff_member_id) == ("paper-import", Channel.WINDOW_DEVICE, seed.staff.id)
    assert good.evaluated_at == WHEN and WHEN.utcoffset() == timedelta(hours=8)
    bad = session.scalar(select(Rating).where(Rating.external_id == "P-0002"))
    assert bad.dimensions == [Dimension.EFFICIENCY, Dimension.PROCESS] and bad.real_name
    case = session.scalar(select(Case).where(Case.rating_id == bad.id))
    assert case is not None and case.department_id == seed.dept.id  # the bad rating's row opened its case


def test_re_import_answers_duplicates_and_stores_nothing_new(session: Session, seed: Seed, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "评价表.csv", seed.sheet())
    key = paper_key(session)
    run_import(path, key)
    ratings, cases = count(session, Rating), count(session, Case)
    again = run_import(path, key, chunk=1)
    assert again.counts == {"created": 0, "duplicate": 2, "invalid": 1, "conflict": 1}
    assert (count(session, Rating), count(session, Case)) == (ratings, cases) == (2, 1)


def test_english_headers_and_a_record_not_synchronised_yet(session: Session, seed: Seed, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ratings.csv", [
        ["id", "service_record_no", "service_item_code", "department_code", "channel", "level", "evaluated_at",
         "follow_up"],
        ["Q-1", "R-LATE-1", seed.item.code, seed.dept.credit_code, "评价二维码", "4", WHEN.isoformat(), "否"],
        ["Q-2", "R-LATE-1", seed.item.code, "", "qr_code", "5", WHEN_TEXT, "是"]])
    report = run_import(path, paper_key(session))
    assert report.counts["created"] == 2, report.problems
    first, follow_up = session.scalars(select(Rating).where(Rating.source == "paper-import")
                                       .order_by(Rating.sequence)).all()
    assert (first.channel, first.level.national_code, follow_up.sequence) == (Channel.QR_CODE, 4, 2)
    record = session.scalar(select(ServiceRecord).where(ServiceRecord.record_no == "R-LATE-1"))
    assert record.awaiting_platform and record.department_id == seed.dept.id


@pytest.mark.parametrize(("header", "message"), [
    (HEADER + ["满意程度", "备注"], "无法识别的列：满意程度、备注"),
    ([h for h in HEADER if h != "评价时间"], "缺少必填列：评价时间（evaluated_at）"),
    (HEADER + ["level"], "列重复：满意度"),
])
def test_unknown_missing_and_repeated_headers_refuse_the_file(tmp_path: Path, header: list[str],
                                                              message: str) -> None:
    with pytest.raises(ImportFileError) as refused:
        read_rows(write_csv(tmp_path / "表.csv", [header]))
    assert str(refused.value).startswith(message)


def test_excel_number_and_date_cells(session: Session, seed: Seed, tmp_path: Path) -> None:
    code = seed.item.code
    path = write_xlsx(tmp_path / "评价表.xlsx", [
        ["评价编号", "办件编号", "事项编码", "满意度", "评价维度", "评价时间", "实名", "评价人", "联系电话"],
        [1001, seed.no(0), code, 5, None, WHEN.replace(tzinfo=None), None, None, None],
        [1002, seed.no(1), code, 1, "服务收费;跑动次数", date(2026, 11, 2), "是", "张晓明", 13812341234],
        [None, None, None, None, None, None, None, None, None],
        [1003, 36011220261120000003, code, 4, None, WHEN.replace(tzinfo=None), None, None, None]])
    report = run_import(path, paper_key(session))
    assert report.counts == {"created": 2, "duplicate": 0, "invalid": 1, "conflict": 0}
    first = session.scalar(select(Rating).where(Rating.external_id == "1001"))
    assert first.level.national_code == 5 and first.evaluated_at == WHEN
    second = session.scalar(select(Rating).where(Rating.external_id == "1002"))
    assert second.evaluated_at == datetime(2026, 11, 2, tzinfo=SHANGHAI)
    assert second.dimensions == [Dimension.FEES, Dimension.TRIPS] and second.level.national_code == 1
    [lost] = report.problems
    assert lost.row == 5 and lost.errors["service_record_no"].startswith("Excel把该长数字存成了数值")


def test_cell_conversion() -> None:
    raw, problems = to_intake({"id": 7.0, "service_record_no": "3.60112E+19", "level": 5.0, "phone": 13812341234.0,
                               "name": "王五", "real_name": True, "evaluated_at": "2026/1/5 9:05",
                               "follow_up": "否", "dimensions": "办事材料，一窗服务 | 服务收费"}, "window_device")
    assert raw == {"id": "7", "level": 5, "evaluated_at": "2026-01-05T09:05:00+08:00", "follow_up": False,
                   "dimensions": ["办事材料", "一窗服务", "服务收费"], "channel": "window_device",
                   "evaluator": {"phone": "13812341234", "name": "王五", "real_name": True}}
    assert problems["service_record_no"].startswith("“3.60112E+19”是科学计数法")
    _raw, problems = to_intake({"follow_up": "也许", "evaluated_at": 46000.5, "staff_no": date(2026, 1, 1),
                                "_": 12}, "qr_code")
    assert set(problems) == {"follow_up", "evaluated_at", "staff_no", "_"}
    assert problems["_"] == "第12列没有列名，该列的内容无法导入"
    raw, _problems = to_intake({"evaluated_at": "2026-11-20T10:30:00Z", "level": "基本满意"}, "sms")
    assert raw["evaluated_at"] == "2026-11-20T10:30:00+00:00" and raw["level"] == "基本满意"


def test_chunks_committed_before_a_crash_are_kept(session: Session, seed: Seed, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [HEADER] + [[f"C-{n}", f"R-CHUNK-{n}", seed.item.code, "", "满意", "", "", WHEN_TEXT, "", "", ""]
                       for n in range(1, 8)]
    path = write_csv(tmp_path / "大表.csv", rows)
    session.add_all([ServiceRecord(record_no=f"R-CHUNK-{n}", service_item=seed.item, department=seed.dept)
                     for n in range(1, 8)])
    key = paper_key(session)

    def failing(db_session: Session, source: ApiKey, raw: dict[str, Any], now: datetime) -> Any:
        if raw["id"] == "C-5":
            raise RuntimeError("connection lost")
        return ingest(db_session, source, raw, now)

    monkeypatch.setattr(rating_import, "ingest", failing)
    with pytest.raises(ImportInterrupted) as stop:
        import_ratings(db.sessionmaker, key, read_rows(path), NOW, chunk=3)
    assert str(stop.value) == "导入在第6行中断：RuntimeError: connection lost" and stop.value.row == 6
    assert stop.value.report.counts["created"] == 3
    assert count(session, Rating) == 3  # rows 2-4 committed; row 5, in the failed chunk, rolled back
    monkeypatch.undo()
    again = run_import(path, key, chunk=3)
    assert (again.counts["duplicate"], again.counts["created"]) == (3, 4)


def test_a_file_failing_half_way_keeps_the_committed_chunks(session: Session, seed: Seed, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "评价表.csv", seed.sheet())

    def broken() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, row in read_rows(path):
            if number == 5:
                raise OSError("磁盘读取错误")
            yield number, row

    with pytest.raises(ImportInterrupted) as stop:
        import_ratings(db.sessionmaker, paper_key(session), broken(), NOW, chunk=2)
    assert stop.value.row is None and "读取文件时中断：OSError: 磁盘读取错误" in str(stop.value)
    assert stop.value.report.counts["created"] == 2 and count(session, Rating) == 2


def test_dry_run_stores_nothing(cli: Flask, session: Session, seed: Seed, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "评价表.csv", seed.sheet())
    result = invoke(cli, str(path), "--dry-run", "--chunk", "2")
    assert result.exit_code == 1, result.output
    assert "试运行，未保存任何数据" in result.stdout and "新增2条" in result.stdout
    assert (count(session, Rating), count(session, Case), count(session, ApiKey)) == (0, 0, 0)
    real = run_import(path, paper_key(session))
    assert real.counts == {"created": 2, "duplicate": 0, "invalid": 1, "conflict": 1}  # what the dry run said


def test_cli_exit_codes_and_error_report(cli: Flask, session: Session, seed: Seed, tmp_path: Path) -> None:
    good = write_csv(tmp_path / "好.csv", seed.sheet()[:3])
    result = invoke(cli, str(good))
    assert result.exit_code == 0, result.output
    assert "好.csv：共2行：新增2条，重复0条，无效0条，冲突0条；开立差评案件1件" in result.stdout
    assert not (tmp_path / "好-导入错误.csv").exists()
    mixed = write_xlsx(tmp_path / "混合.xlsx", seed.sheet())
    result = invoke(cli, str(mixed), "--show", "1")
    assert result.exit_code == 1, result.output
    assert "重复2条，无效1条，冲突1条" in result.stdout
    assert "第5行 level：满意度应为" in result.stdout and "……另有2条错误" in result.stdout
    with (tmp_path / "混合-导入错误.csv").open(encoding="utf-8-sig", newline="") as stream:
        lines = list(csv.reader(stream))
    assert lines[0] == ["行号", "评价编号", "结果", "列", "字段", "说明"]
    assert ["5", "P-0003", "无效", "联系电话", "evaluator.phone", "手机号码格式不正确"] in lines
    assert lines[-1][:5] == ["6", "P-0004", "冲突", "办件编号", "service_record_no"]
    elsewhere = tmp_path / "out" / "errors.csv"
    elsewhere.parent.mkdir()
    assert invoke(cli, str(mixed), "--report", str(elsewhere)).exit_code == 1 and elsewhere.exists()
    assert count(session, Rating) == 2


def test_cli_refuses_an_unreadable_file_in_one_line(cli: Flask, seed: Seed, tmp_path: Path) -> None:
    cases = {"评价.txt": (b"a,b\n", "不支持的文件类型“.txt”"),
             "坏编码.csv": (b"\xff\xfe\xff\xfe", "文件编码无法识别"),
             "无表头.csv": ("\n\n".encode(), "文件中没有表头"),
             "缺列.csv": ("评价编号,满意度\n1,5\n".encode("gb18030"), "缺少必填列：办件编号（service_record_no）"),
             "假的.xlsx": (b"not a zip", "无法读取Excel文件")}
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        result = invoke(cli, str(tmp_path / name))
        assert result.exit_code == 2 and f"Error: {message}" in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1


def test_cli_source_option(cli: Flask, session: Session, seed: Seed, tmp_path: Path) -> None:
    create_key(session, "hotline-12345", Channel.HOTLINE, "admin", NOW)
    create_key(session, "old-device", Channel.WINDOW_DEVICE, "admin", NOW)
    revoke(session, "old-device", NOW)
    session.commit()
    path = write_csv(tmp_path / "热线.csv", seed.sheet()[:2])
    assert invoke(cli, str(path), "--source", "hotline-12345").exit_code == 0
    rating = session.scalar(select(Rating).where(Rating.external_id == "P-0001"))
    assert (rating.source, rating.channel) == ("hotline-12345", Channel.HOTLINE)  # the source's channel by default
    unknown = invoke(cli, str(path), "--source", "nobody")
    assert unknown.exit_code == 2 and "没有名为nobody的评价来源" in unknown.output
    revoked = invoke(cli, str(path), "--source", "old-device")
    assert revoked.exit_code == 2 and "已吊销" in revoked.output
    assert session.scalar(select(ApiKey.id).where(ApiKey.name == "paper-import")) is None


def test_cli_reports_an_interrupted_import(cli: Flask, session: Session, seed: Seed, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(db_session: Session, source: ApiKey, raw: dict[str, Any], now: datetime) -> Any:
        if raw["id"] == "P-0002":
            raise RuntimeError("connection lost")
        return ingest(db_session, source, raw, now)

    monkeypatch.setattr(rating_import, "ingest", failing)
    result = invoke(cli, str(write_csv(tmp_path / "评价表.csv", seed.sheet())), "--chunk", "1")
    assert result.exit_code == 2
    assert "共1行：新增1条" in result.stdout
    assert ("Error: 导入在第3行中断：RuntimeError: connection lost；此前已提交的1行不受影响，"
            "排除故障后重新导入同一文件即可（已保存的行显示为重复）") in result.output
    assert count(session, Rating) == 1
