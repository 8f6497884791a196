"""GB 32100 (USCC) and GB 11643 (resident ID) exactly as docs/spec/DOMAIN.md §1, checked against real codes."""
from __future__ import annotations

import pytest
from stdnum.cn import uscc as stdnum_uscc

from include.ingest import codes

# Codes of real, well-known registrants (public on 国家企业信用信息公示系统 and the registrants' sites).
REAL_USCC = ["91330100716105852F",  # 阿里巴巴（中国）有限公司
             "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
             "914403001922038216",  # 华为技术有限公司
             "91110108551385082Q",  # 小米科技有限责任公司
             "91310000MA1FL1MMXL",  # a Shanghai code with letters in the organisation part
             "11100000000013127D",  # 机构编制 · 机关
             "12100000400010275N"]  # 机构编制 · 事业单位


def with_check(first17: str) -> str:
    return first17 + codes.uscc_check_char(first17)


@pytest.mark.parametrize("code", REAL_USCC)
def test_real_codes_are_valid(code):
    assert codes.uscc_problem(code) is None


def test_every_wrong_check_character_is_caught():
    code = REAL_USCC[0]
    wrong = [c for c in codes.USCC_ALPHABET if c != code[17]]
    assert all("check character" in codes.uscc_problem(code[:17] + c) for c in wrong)


def test_letters_in_positions_1_2_are_valid_where_stdnum_disagrees():
    village = with_check("N2640100MA0000001")      # 农业 · 村级集体经济组织
    other = with_check("Y1640100MA0000002")        # 其他
    assert codes.uscc_problem(village) is None and codes.uscc_problem(other) is None
    # python-stdnum 2.2 requires digits in 1–8: the reason we keep our own check (codes.py).
    assert not stdnum_uscc.is_valid(village)
    assert stdnum_uscc.is_valid(REAL_USCC[0])


@pytest.mark.parametrize("code, problem", [
    ("9133010071610585", "18 characters"),
    ("91330100716105852O", "not in the code alphabet"),   # O is excluded
    ("9133010071610585IF", "not in the code alphabet"),
    ("91A30100716105852F", "positions 3–8"),
])
def test_malformed_codes(code, problem):
    assert problem in codes.uscc_problem(code)


def test_resident_id():
    assert codes.ric_problem("11010519491231002X") is None          # GB 11643's own example
    assert "check digit" in codes.ric_problem("110105194912310021")
    assert "not a date" in codes.ric_problem("110105194902300027")  # 1949-02-30
    assert "province" in codes.ric_problem("990105194912310021")
    assert "17 digits" in codes.ric_problem("11010519491231002A")


def test_individual_business_and_pseudonym():
    assert codes.is_individual_business(with_check("92640100MA0000003"))
    assert not codes.is_individual_business(REAL_USCC[0])
    key = b"k" * 32
    p = codes.pseudonym("11010519491231002X", key)
    assert p.startswith("p:") and len(p) == 66 and p == codes.pseudonym("11010519491231002X", key)
    assert p != codes.pseudonym("11010519491231002X", b"other")
    assert codes.masked("640102199003071234") == "640102********1234"
