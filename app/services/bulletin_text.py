"""A stored bulletin as plain text, for the terminal (``hcp bulletin``)."""

from __future__ import annotations

from typing import Any

from calendars import SHANGHAI

from ..models import Bulletin


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


def points(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def _row(item: dict[str, Any]) -> str:
    ratings, cases = item["ratings"], item["cases"]
    rank = item.get("rank")
    return (f"{rank if rank is not None else '—':>3}  {item['label']}  评价 {ratings['valid']}  "
            f"好评率 {rate(ratings['good_rate'])}（环比 {points(item['change']['good_rate'])}）  "
            f"差评 {ratings['bad']}  差评率 {rate(ratings['bad_rate'])}  排除 {ratings['excluded']}  "
            f"工单 {cases['opened']}  按期联系 {rate(cases['contact_rate'])}  按期整改 {rate(cases['rectify_rate'])}  "
            f"按期办结 {rate(cases['close_rate'])}  实名回访整改 {rate(cases['real_name_rate'])}")


def render(bulletin: Bulletin) -> str:
    content = bulletin.content
    total, coverage = content["total"], content["coverage"]
    lines = [content["title"],
             f"第 {bulletin.revision} 版，{bulletin.generated_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 由 "
             f"{bulletin.generated_by} 生成（统计期间 {content['period']['label']}，数据截至 "
             f"{content['as_of'][:16].replace('T', ' ')}）", "",
             "一、总体情况", "  " + _row({**total, "label": "全部"}),
             f"  覆盖率：事项 {rate(coverage['items_rate'])}（{coverage['items_rated']}/{coverage['items']}），"
             f"部门 {rate(coverage['departments_rate'])}（{coverage['departments_rated']}/{coverage['departments']}），"
             f"工作人员 {rate(coverage['staff_rate'])}（{coverage['staff_rated']}/{coverage['staff']}）", "",
             "二、部门排名（按好评率）"]
    lines += ["  " + _row(item) for item in content["departments"]]
    lines += ["", "三、线下大厅与线上渠道"]
    lines += ["  " + _row(item) for item in content["channel_kinds"]]
    lines += ["", "四、评价渠道排名"]
    lines += ["  " + _row(item) for item in content["channels"]]
    lines += ["", "五、督办提示（R12）"]
    lines += [f"  {item['label']}：" + "；".join(flag["text"] for flag in item["flags"]) for item in content["flagged"]]
    if not content["flagged"]:
        lines.append("  本月无需督办的部门")
    return "\n".join(lines) + "\n"
