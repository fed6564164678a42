"""Unified social credit codes (统一社会信用代码, GB 32100-2015) of departments."""

from __future__ import annotations

# The 31 characters of the code (I, O, Z, S, V are never used).
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714 organization code (characters 9-17) has a check character of its own.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


class InvalidCode(ValueError):
    pass


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARSET.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    values = [int(ch) if ch.isdigit() else ord(ch) - 55 for ch in first8]
    remainder = 11 - sum(v * w for v, w in zip(values, _ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def validate_uscc(code: str) -> str:
    """Return the code upper-cased when it is a valid 18-character USCC, else raise."""
    code = (code or "").strip().upper()
    if len(code) != 18:
        raise InvalidCode(f"统一社会信用代码应为18位，实际为{len(code)}位")
    bad = sorted({ch for ch in code if ch not in USCC_CHARSET})
    if bad:
        raise InvalidCode(f"统一社会信用代码含有非法字符：{''.join(bad)}")
    if not code[2:8].isdigit():
        raise InvalidCode("统一社会信用代码第3-8位应为行政区划代码（6位数字）")
    if uscc_check_char(code[:17]) != code[17]:
        raise InvalidCode("统一社会信用代码校验位错误")
    return code


def make_uscc(prefix2: str, region: str, org_base8: str) -> str:
    """Build a valid code from the registration/type prefix, region and the organization
    code's first eight characters (both check characters are computed)."""
    org = org_base8 + org_code_check_char(org_base8)
    first17 = prefix2 + region + org
    return first17 + uscc_check_char(first17)
