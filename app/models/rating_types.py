"""Enums of a rating (DESIGN.md §2 R1-R3, §7). Codes at boundaries are mapped explicitly."""

from __future__ import annotations

from .types import LabelledEnum


class Level(LabelledEnum):
    """R1: five levels. ``national_code`` is the national upload interface's satisfaction
    code (5 = 非常满意 … 1 = 非常不满意); GB/T 39046-2020 table 9 runs the other way."""

    VERY_SATISFIED = ("very_satisfied", "非常满意")
    SATISFIED = ("satisfied", "满意")
    BASICALLY_SATISFIED = ("basically_satisfied", "基本满意")
    DISSATISFIED = ("dissatisfied", "不满意")
    VERY_DISSATISFIED = ("very_dissatisfied", "非常不满意")

    @property
    def national_code(self) -> int:
        return _NATIONAL[self]

    @property
    def gbt39046_code(self) -> int:
        return 6 - _NATIONAL[self]

    @property
    def is_bad(self) -> bool:
        """差评 = 不满意 or 非常不满意."""
        return self in (Level.DISSATISFIED, Level.VERY_DISSATISFIED)

    @classmethod
    def from_national_code(cls, code: int) -> Level:
        for level, value in _NATIONAL.items():
            if value == code:
                return level
        raise ValueError(f"satisfaction code must be 1-5 (5 = 非常满意), got {code!r}")


_NATIONAL = {
    Level.VERY_SATISFIED: 5,
    Level.SATISFIED: 4,
    Level.BASICALLY_SATISFIED: 3,
    Level.DISSATISFIED: 2,
    Level.VERY_DISSATISFIED: 1,
}


class Channel(LabelledEnum):
    """R3: where the rating was given; provinces' channel codes are mapped at the boundary."""

    WINDOW_DEVICE = ("window_device", "窗口评价器")
    QR_CODE = ("qr_code", "评价二维码")
    WEB_PORTAL = ("web_portal", "政务服务网")
    MOBILE_APP = ("mobile_app", "移动端（赣服通）")
    SELF_SERVICE = ("self_service", "自助服务终端")
    HOTLINE = ("hotline", "12345热线")
    SMS = ("sms", "短信")

    @property
    def is_hall(self) -> bool:
        """Given in a service hall (线下) rather than online (线上)."""
        return self in (Channel.WINDOW_DEVICE, Channel.QR_CODE, Channel.SELF_SERVICE)


class Dimension(LabelledEnum):
    """R2: what a rating may point at; a rating may carry several."""

    PROCESS = ("process", "办事流程")
    MATERIALS = ("materials", "办事材料")
    MECHANISM = ("mechanism", "服务机制")
    EFFICIENCY = ("efficiency", "服务效率")
    TRIPS = ("trips", "跑动次数")
    ONE_DOOR = ("one_door", "一门服务")
    ONE_WINDOW = ("one_window", "一窗服务")
    ONE_CHAIN = ("one_chain", "一链服务")
    FEES = ("fees", "服务收费")


class EvaluatorType(LabelledEnum):
    PERSON = ("person", "个人")
    LEGAL_ENTITY = ("legal_entity", "法人")


class IdType(LabelledEnum):
    RESIDENT_ID = ("resident_id", "居民身份证")
    PASSPORT = ("passport", "护照")
    HK_MACAO_PERMIT = ("hk_macao_permit", "港澳居民来往内地通行证")
    TAIWAN_PERMIT = ("taiwan_permit", "台湾居民来往大陆通行证")
    FOREIGN_RESIDENCE = ("foreign_residence", "外国人永久居留身份证")
    CREDIT_CODE = ("credit_code", "统一社会信用代码")
