"""What a department is told to do about each problem (docs/departments.md): the one place of the
instruction texts, per quarantine rule and per file-rejection rule.

    row_instruction(rule, header, value)   -> "统一社会信用代码校验位错误，应为…"
    file_instruction(reason)               -> what to do about a rejected file

The ingest stores a row problem's instruction in `audit.quarantine.instruction` when it quarantines
the row, so the warehouse table (marts.unit_corrections) and the workbooks (include/workbooks.py)
say the same. tests/test_corrections.py checks that every rule the checks can raise has a text.
"""

from __future__ import annotations

import re

from include.ingest import codes
from include.ingest.values import normalise_code

# Row rules (audit.quarantine.rule): {header} is the column's header as the file has it.
ROW_INSTRUCTIONS = {
    "required": "“{header}”为必填项，请补充后重新报送该行",
    "control_character": "“{header}”含有不可见的控制字符（NUL），请删除后重新报送该行",
    "date": "“{header}”不是有效日期，请按 2024-03-05 格式填写后重新报送该行",
    "month": "“{header}”不是有效月份，请按 2024-03 格式填写后重新报送该行",
    "money": "“{header}”不是有效金额，请只填数字（可带小数）后重新报送该行",
    "int": "“{header}”不是整数，请填写整数后重新报送该行",
    "flag": "“{header}”请填写“是”或“否”后重新报送该行",
    "uscc_check": "“{header}”不是有效的统一社会信用代码（GB 32100），请核对后重新报送该行",
    "id_check": "“{header}”既不是有效的身份证号码（GB 11643）也不是有效的统一社会信用代码，请核对后重新报送该行",
    "pattern": "“{header}”格式不符合模板要求，请按模板格式填写后重新报送该行",
    "enum": "“{header}”的取值不在模板规定的选项中，请从模板选项中选择后重新报送该行",
    "required_unless": "“{header}”在该行相对人类别下为必填项，请补充后重新报送该行",
    "required_if": "行政相对人为自然人时“{header}”为必填项，请补充证件号码后重新报送该行",
    "id_is_person_if": "行政相对人为自然人时“{header}”应为身份证号码，请核对后重新报送该行",
    "category_matches_uscc": "“{header}”的代码类别与行政相对人类别不一致（92开头为个体工商户），请核对类别或代码",
}
# File rules (audit.file_ledger.reason ends in "rule: <rule>").
FILE_INSTRUCTIONS = {
    "file_name": "文件名不合规（含路径符号或以点开头），请改用普通文件名重新报送",
    "feed_folder": "报送目录不是普通文件夹，请联系信用办数据工程师",
    "file_exists": "文件在读取前已被移走，请重新报送",
    "regular_file": "报送的不是普通文件（链接或文件夹），请报送文件本身",
    "csv_syntax": "CSV 文件格式错误（引号未闭合等），请用模板另存为 CSV（UTF-8）后重新报送",
    "taken_once": "该文件与之前报送的文件内容完全相同，无需重复报送",
    "header_unique": "表头有重复的列名，请使用模板表头后重新报送",
    "required_column": "缺少模板规定的必备列，请使用模板表头后重新报送",
    "header_row": "未找到表头行，请使用模板（第一行为表头）后重新报送",
    "encoding": "文件编码无法识别，请另存为 UTF-8 或 GB18030 编码后重新报送",
    "format": "文件格式无法识别，请报送 CSV 或 XLSX 文件",
    "xlsx_readable": "XLSX 文件无法打开（损坏或加密），请重新导出后报送",
    "not_empty": "文件没有数据行，请核对后重新报送",
}
UNKNOWN_FILE_RULE = "文件被拒收，请按原因核对后重新报送"
_RULE_IN_REASON = re.compile(r"rule: ([a-z_]+)")


def _uscc_fix(code: str, say_length: bool = True) -> str | None:
    """When only the check character of an 18-character code is wrong: the text saying which it should be."""
    if len(code) == 18 and all(ch in codes.USCC_ALPHABET for ch in code) and code[2:8].isdigit():
        expected = codes.uscc_check_char(code[:17])
        if code[17] != expected:
            return f"校验位错误，应为{expected}（第18位），请核对后重新报送该行"
    if say_length and len(code) != 18:
        return f"应为18位，现为{len(code)}位，请核对后重新报送该行"
    return None


def _ric_fix(number: str) -> str | None:
    found = re.match(r"check digit is '.', expected '(.)'", codes.ric_problem(number) or "")
    if found:
        return f"（身份证号码）校验码错误，应为{found.group(1)}（第18位），请核对后重新报送该行"
    return None


def row_instruction(rule: str, header: str | None, value: str | None) -> str:
    """What to do about one row problem. A code whose check character is wrong is told the right one."""
    header = header or "该行"
    if rule in ("uscc_check", "id_check") and value:
        code = normalise_code(value)
        fixed = _uscc_fix(code) if rule == "uscc_check" else (_ric_fix(code) or _uscc_fix(code, say_length=False))
        if fixed:
            return f"“{header}”{fixed}"
    text = ROW_INSTRUCTIONS.get(rule)
    return text.format(header=header) if text else f"“{header}”未通过检查（规则 {rule}），请核对后重新报送该行"


def file_rule(reason: str | None) -> str | None:
    """The rule a rejection reason names ("…; rule: encoding; nothing read")."""
    found = _RULE_IN_REASON.findall(reason or "")
    return found[-1] if found else None


def file_instruction(reason: str | None) -> str:
    return FILE_INSTRUCTIONS.get(file_rule(reason) or "", UNKNOWN_FILE_RULE)
