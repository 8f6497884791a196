"""GB 32100 (USCC) and GB 11643 (resident ID) exactly as docs/spec/DOMAIN.md §1, checked against real codes."""

from __future__ import annotations

import pytest
from stdnum.cn import uscc as stdnum_uscc

from include import settings
from include.ingest import codes

# Codes of real, well-known registrants (public on 国家企业信用信息公示系统 and the registrants' sites).
REAL_USCC = [
    "91330100716105852F",  # 阿里巴巴（中国）有限公司
    "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
    "914403001922038216",  # 华为技术有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91310000MA1FL1MMXL",  # a Shanghai code with letters in the organisation part
    "11100000000013127D",  # 机构编制 · 机关
    "12100000400010275N",
]  # 机构编制 · 事业单位

# Valid codes with letters in positions 1–2, each check character worked out by hand from
# docs/spec/DOMAIN.md §1 (not by codes.py, which is under test). Weights 3^i mod 31, i = 0..16:
#   1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
# Letter values (index in 0123456789ABCDEFGHJKLMNPQRTUWXY): A 10, B 11, M 21, N 22, Q 24, R 25, T 26, Y 30.
#
# N2640100MA0000001 + ?: N·1 + 2·3 + 6·9 + 4·27 + 0·19 + 1·26 + 0·16 + 0·17 + M·20 + A·29 + 0… + 1·28
#   = 22 + 6 + 54 + 108 + 26 + 420 + 290 + 28 = 954; 954 mod 31 = 24 (930 = 30·31); 31 − 24 = 7 → '7'
VILLAGE = "N2640100MA00000017"  # 农业 · 村级集体经济组织
# Y1640100MA0000002 + ?: 30 + 3 + 54 + 108 + 26 + 420 + 290 + 2·28 = 987; 987 mod 31 = 26; 31 − 26 = 5 → '5'
OTHER = "Y1640100MA00000025"  # 其他
# 92640100MA0000003 + ?: 9 + 6 + 54 + 108 + 26 + 420 + 290 + 3·28 = 997; 997 mod 31 = 5; 31 − 5 = 26 → 'T'
SHOP = "92640100MA0000003T"  # 工商 · 个体工商户


@pytest.mark.parametrize("code", REAL_USCC)
def test_real_codes_are_valid(code):
    assert codes.uscc_problem(code) is None


def test_every_wrong_check_character_is_caught():
    code = REAL_USCC[0]
    wrong = [c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != code[17]]  # DOMAIN §1's alphabet
    assert all("check character" in codes.uscc_problem(code[:17] + c) for c in wrong)


def test_letters_in_positions_1_2_are_valid_where_stdnum_disagrees():
    assert codes.uscc_problem(VILLAGE) is None and codes.uscc_problem(OTHER) is None
    # python-stdnum 2.2 requires digits in 1–8: the reason we keep our own check (codes.py).
    assert not stdnum_uscc.is_valid(VILLAGE)
    assert stdnum_uscc.is_valid(REAL_USCC[0])


@pytest.mark.parametrize(
    "code, expected",
    [(VILLAGE, "7"), (OTHER, "5"), (SHOP, "T"), ("91330100716105852F", "F"), ("9144030071526726XG", "G")],
)
def test_check_character_of_known_codes(code, expected):
    assert codes.uscc_check_char(code[:17]) == expected


@pytest.mark.parametrize("code", ["N2640100MA00000018", "Y1640100MA00000026", "92640100MA0000003U"])
def test_a_lettered_code_one_check_value_off_is_caught(code):
    # each of the codes above with the next character of the alphabet as its check character
    assert "check character" in codes.uscc_problem(code)


@pytest.mark.parametrize(
    "code, problem",
    [
        ("9133010071610585", "18 characters"),
        ("91330100716105852O", "not in the code alphabet"),  # O is excluded
        ("9133010071610585IF", "not in the code alphabet"),
        ("91A30100716105852F", "positions 3–8"),
    ],
)
def test_malformed_codes(code, problem):
    assert problem in codes.uscc_problem(code)


def test_resident_id():
    assert codes.ric_problem("11010519491231002X") is None  # GB 11643's own example
    assert "check digit" in codes.ric_problem("110105194912310021")
    assert "not a date" in codes.ric_problem("110105194902300027")  # 1949-02-30
    assert "province" in codes.ric_problem("990105194912310021")
    assert "17 digits" in codes.ric_problem("11010519491231002A")


def test_individual_business_and_masking():
    assert codes.is_individual_business(SHOP)
    assert not codes.is_individual_business(REAL_USCC[0])
    assert codes.masked("640102199003071234") == "640102********1234"


# Known answers for the pseudonym (docs/spec/DOMAIN.md §8: HMAC-SHA256), computed outside the project:
#   printf %s 11010519491231002X | openssl dgst -sha256 -hmac 'k-credit-office-test-2026'
IDENTITY = "11010519491231002X"
KEY = "k-credit-office-test-2026"
HMAC_HEX = "e68a00f35e7ddfddd48dad95b69d0426f5a804e18f123acd992430f64eb93d1f"
# What wrong constructions give, so that each is known to differ from the answer:
#   printf %s 11010519491231002X | openssl dgst -sha256                                   (no key)
PLAIN_SHA256_HEX = "426695a0efdb59b9eaedaf0b5ca3eddf013cc2a7f9e283437704ea605f421e6d"
#   printf %s 'k-credit-office-test-2026' | openssl dgst -sha256 -hmac 11010519491231002X  (key and message swapped)
SWAPPED_HEX = "9ba31ef5ab34ebabd432854e8dd64c9b592e6ae5c1535356b7c1254821052cd5"


def test_pseudonym_is_hmac_sha256_of_the_number_under_the_key():
    p = codes.pseudonym(IDENTITY, KEY.encode())
    # the wrong constructions first, so that a failure names the one the code fell into
    assert p != "p:" + PLAIN_SHA256_HEX, "a plain SHA-256: the key is not used"
    assert p != "p:" + SWAPPED_HEX, "HMAC with the number as the key and the key as the message"
    assert p == "p:" + HMAC_HEX


# A key that looks like hex is still used as the text it is: the bytes of the string, not the
# 32 bytes it would decode to. Pseudonyms already stored stay stable only while this holds.
#   printf %s 11010519491231002X | openssl dgst -sha256 -hmac 000102…1e1f
HEX_LOOKING_KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
HEX_LOOKING_KEY_HMAC = "4fae9890ee2e15f171b19eaa6b752ff344949cc5276d2ddefecd8ea96bbe5424"
#   printf %s 11010519491231002X | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102…1e1f
HEX_DECODED_KEY_HMAC = "a66755453b106dcea0cfa264214ae59ff1e8b067f3e5f3aa8085e1d8757880eb"


def test_the_configured_key_is_the_text_of_credit_pseudonym_key(monkeypatch):
    monkeypatch.setenv("CREDIT_PSEUDONYM_KEY", HEX_LOOKING_KEY)
    p = codes.pseudonym(IDENTITY, settings.pseudonym_key())
    assert p != "p:" + HEX_DECODED_KEY_HMAC, "the key was hex-decoded: every stored pseudonym would change"
    assert p == "p:" + HEX_LOOKING_KEY_HMAC


def test_without_a_configured_key_the_kept_key_file_is_the_key(monkeypatch, tmp_path):
    # The laptop key file holds hex text and a newline; the key is that text without the newline.
    monkeypatch.delenv("CREDIT_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("STATE_DIR", str(tmp_path))
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pseudonym.key").write_text(HEX_LOOKING_KEY + "\n")
    assert codes.pseudonym(IDENTITY, settings.pseudonym_key()) == "p:" + HEX_LOOKING_KEY_HMAC
