"""The Excel round trip (assess/excel.py) and column mappings (assess/column_mapping.py): what is exported reads
back equal; a workbook with problems reports every one with its cell and imports nothing; another layout is read
through a mapping file. Workbooks in another layout are built here with openpyxl directly."""

from __future__ import annotations

import functools
import importlib.resources
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from mamori.assess.answers import MAX_NOTE, Answer, Documentation, answer
from mamori.assess.column_mapping import (
    ColumnMapping,
    ColumnMappingError,
    OtherIds,
    load_column_mapping,
    parse_column_mapping,
)
from mamori.assess.excel import PROBLEMS, SheetError, export_workbook, read_workbook
from mamori.assess.framework import AnswerType, Framework, Question, load_framework, parse_framework
from mamori.assess.scoring import is_asked
from mamori.errors import InputError, MamoriError

# Both profile answer types, all four answer types, a condition and a machine-answered question.
BANK = """
id: excel-bank
version: "1"
title: {en: Excel bank, ja: Excel 用質問集}
profile:
  - id: PROFILE.ops
    text: {en: "Who runs the wallets?", ja: "ウォレットの運用者は？"}
    answer:
      type: single
      choices:
        - {id: in-house, text: {en: We do, ja: 自社}}
        - {id: outsourced, text: {en: A vendor, ja: 委託先}}
  - id: PROFILE.tech
    text: {en: "Signing technologies", ja: "署名技術"}
    answer:
      type: multiple
      choices:
        - {id: multisig, text: {en: Multisig, ja: マルチシグ}}
        - {id: mpc, text: {en: MPC, ja: MPC}}
sections:
  - id: GV
    title: {en: Governance, ja: ガバナンス}
    guideline: "2.1"
    questions:
      - id: GV-001
        text: {en: "Is there a strategy?", ja: "戦略はありますか？"}
        weight: 3
        answer: {type: ynpna}
        evidence: [{en: Board minutes, ja: 取締役会議事録}]
        csf: [GV.OV-01]
      - id: GV-002
        text: {en: "How mature is risk management?", ja: "リスク管理の成熟度は？"}
        answer: {type: maturity}
        csf: [GV.RM-01]
      - id: GV-003
        text: {en: "Are vendor accesses reviewed?", ja: "委託先のアクセスを見直していますか？"}
        level: advanced
        answer:
          type: single
          choices:
            - {id: all, text: {en: All, ja: すべて}, score: 1}
            - {id: some, text: {en: Some, ja: 一部}, score: 0.5}
        when: {question: PROFILE.ops, any_of: [outsourced]}
        csf: [GV.SC-07]
  - id: CX
    title: {en: Crypto-assets, ja: 暗号資産}
    guideline: "2.3"
    questions:
      - id: CX-001
        text: {en: "Which checks of what is signed?", ja: "署名内容の確認方法は？"}
        answer:
          type: multiple
          choices:
            - {id: decode, text: {en: Independent decoding, ja: 独立したデコード}, score: 0.6}
            - {id: simulate, text: {en: Simulation, ja: シミュレーション}, score: 0.4}
        csf: [PR.DS-10]
      - id: CX-002
        text: {en: "Does the audit log verify?", ja: "監査ログは検証できますか？"}
        answer: {type: ynpna}
        machine: audit.log-verifies
        csf: [DE.CM-09]
"""
# Rows of the export of BANK: header in row 1, then the profile questions, then the bank's order.
ROW = {"PROFILE.ops": 2, "PROFILE.tech": 3, "GV-001": 4, "GV-002": 5, "GV-003": 6, "CX-001": 7, "CX-002": 8}
HEADERS = ["ID", "Section", "Level", "Weight", "Question (日本語)", "Question (English)", "Answer type",
           "Allowed answers", "Answer", "Documentation", "Note", "Evidence hints", "CSF 2.0", "FSA guideline",
           "Asked when", "Source"]  # fmt: skip
DOC = (Path(__file__).resolve().parents[2] / "docs" / "assess-excel.md").read_text(encoding="utf-8")
EXAMPLE_MAPPING = Path(str(importlib.resources.files("mamori.content").joinpath("mappings/example-fsa-layout.yaml")))


@pytest.fixture(scope="module")
def bank() -> Framework:
    return parse_framework(yaml.safe_load(BANK))


@pytest.fixture(scope="module")
def shipped() -> Framework:
    return load_framework(Path(str(importlib.resources.files("mamori.content").joinpath("cssa"))))


def answers(framework: Framework, given: Mapping[str, tuple[object, object, object]]) -> dict[str, Answer]:
    return {key: answer(framework.question(key), *value) for key, value in given.items()}


def export(framework: Framework, given: Mapping[str, Answer] | None = None, **options: Any) -> bytes:
    return export_workbook(framework, given or {}, organisation="テスト交換所", year=2026, **options)


def edit(data: bytes, cells: Mapping[str, object], sheet: str = "Questions") -> bytes:
    """The workbook ``data`` with ``cells`` (``"I4": "yes"``) written, as a person would in Excel."""
    book = load_workbook(io.BytesIO(data))
    for ref, value in cells.items():
        book[sheet][ref] = value
    return save(book)


def save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def workbook(sheets: Mapping[str, list[list[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    return save(book)


def problems(data: bytes, framework: Framework, mapping: ColumnMapping | None = None) -> list[tuple[str, str]]:
    """(cell, kind) of every problem; checks that the error is whole and nothing was returned."""
    with pytest.raises(SheetError) as raised:
        read_workbook(data, framework, mapping=mapping, source="answers.xlsx")
    error = raised.value
    assert error.code == "SHEET_INVALID" and isinstance(error, InputError)
    body = error.to_dict()["error"]
    assert body["details"]["count"] == len(error.problems) and body["details"]["source"] == "answers.xlsx"
    assert body["problems"] == [
        {"at": p.at, "kind": p.kind, "problem": p.en, "problem_ja": p.ja} for p in error.problems
    ]
    first = error.problems[0]
    assert f"{first.at}: {first.ja}" in error.message_ja and f"{first.at}: {first.en}" in error.message_en
    assert all(p.kind in PROBLEMS and p.en and p.ja for p in error.problems)
    return [(p.at, p.kind) for p in error.problems]


def message(data: bytes, framework: Framework, at: str) -> str:
    with pytest.raises(SheetError) as raised:
        read_workbook(data, framework)
    return next(p.en for p in raised.value.problems if p.at == at)


# --- the round trip -------------------------------------------------------------------------------------------


def test_export_then_import_gives_the_same_answers(bank: Framework) -> None:
    given = answers(bank, {
        "PROFILE.ops": ("outsourced", None, "委託先: 〇〇カストディ株式会社"),
        "PROFILE.tech": ("mpc,multisig", None, ""),
        "GV-001": ("partial", "no", "取締役会で承認待ち。\n次回は 2026年7月"),
        "GV-002": (3, "partial", "Risk register reviewed quarterly"),
        "GV-003": ("all", "yes", '=HYPERLINK("http://example.invalid") stays text'),
        "CX-001": ("none", None, "未実施"),
    })  # fmt: skip
    data = export(bank, given)
    assert read_workbook(data, bank) == given
    assert load_workbook(io.BytesIO(data))["Questions"]["K6"].data_type == "s"  # never a formula Excel would run
    na = answers(bank, {"GV-001": ("na", None, "該当する業務なし"), "PROFILE.tech": ("none", None, "")})
    assert read_workbook(export(bank, na), bank) == na


def test_an_empty_export_reads_back_empty_and_a_person_fills_it_in(bank: Framework) -> None:
    data = export(bank)
    assert read_workbook(data, bank) == {}
    filled = edit(data, {"I2": "in-house", "I4": "yes", "J4": "yes", "I5": 4, "J5": "no", "K5": "メモ"})
    assert read_workbook(filled, bank) == answers(bank, {
        "PROFILE.ops": ("in-house", None, ""), "GV-001": ("yes", "yes", ""), "GV-002": (4, "no", "メモ"),
    })  # fmt: skip


def test_numbers_japanese_and_full_width_forms_are_accepted(bank: Framework) -> None:
    data = edit(export(bank), {
        "I2": " OutSourced ", "I3": "なし",
        "I4": "はい", "J4": "文書化済",
        "I5": 3.0, "J5": "一部",
        "I6": "ＡＬＬ", "J6": "未文書化",
        "I7": "Decode、 simulate", "J7": "いいえ", "K7": "line one\r\nline two",
    })  # fmt: skip
    assert read_workbook(data, bank) == answers(bank, {
        "PROFILE.ops": ("outsourced", None, ""), "PROFILE.tech": ("none", None, ""),
        "GV-001": ("yes", "yes", ""), "GV-002": (3, "partial", ""), "GV-003": ("all", "no", ""),
        "CX-001": ("decode,simulate", "no", "line one\nline two"),
    })  # fmt: skip
    for cell, value, expected in (
        ("I5", "３", 3),
        ("I4", "該当なし", "na"),
        ("I4", "N/A", "na"),
        ("I4", "一部", "partial"),
    ):
        assert read_workbook(edit(export(bank), {cell: value}), bank) == {
            key: answer(bank.question(key), expected) for key in ROW if ROW[key] == int(cell[1:])
        }


def test_the_export_is_laid_out_for_a_person(bank: Framework) -> None:
    machine = Answer("CX-002", "yes")
    book = load_workbook(io.BytesIO(export(bank, {"CX-002": machine}, language_order=("en", "ja"))))
    assert book.sheetnames == ["Questions", "About"]
    sheet = book["Questions"]
    assert [c.value for c in sheet[1]] == [*HEADERS[:4], HEADERS[5], HEADERS[4], *HEADERS[6:]]
    assert [sheet[f"A{row}"].value for row in sorted(ROW.values())] == list(ROW)
    assert sheet.freeze_panes == "B2" and sheet.auto_filter.ref == "A1:P8"
    assert sheet["E4"].value == "Is there a strategy?" and sheet["F4"].value == "戦略はありますか？"
    assert sheet["L4"].value == "Board minutes / 取締役会議事録" and sheet["O6"].value == "PROFILE.ops: outsourced"
    assert sheet["H4"].value.startswith("yes, partial, no, na") and "はい" in sheet["H4"].value
    assert "all: All / すべて" in sheet["H6"].value and sheet["G5"].value == "maturity" and sheet["D4"].value == 3
    # The machine's answer is shown under Source, never in the Answer column, which accepts nothing.
    assert sheet["P8"].value == "machine: audit.log-verifies\nanswer: yes" and sheet["I8"].value is None
    assert sheet["P4"].value == "person" and sheet["I4"].alignment.wrap_text
    rules = {str(v.sqref): (v.type, v.formula1) for v in sheet.data_validations.dataValidation}
    lists = {formula for kind, formula in rules.values() if kind == "list"}
    assert '"yes,partial,no,na,はい,一部,いいえ,該当なし"' in lists and '"0,1,2,3,4"' in lists
    assert '"in-house,outsourced"' in lists and '"yes,partial,no,文書化済,一部,未文書化"' in lists
    closed = " ".join(ref for ref, (kind, _) in rules.items() if kind == "textLength")
    assert {"I8", "J8", "K8", "J2", "J3"} <= set(closed.split())
    assert not any("I3" in ref.split() or "I7" in ref.split() for ref in rules)  # multiple: free text
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True) if row[0]}
    assert about["Organisation / 組織"] == "テスト交換所" and about["Year / 年度"] == 2026
    assert about["Question bank id / 質問集 ID"] == "excel-bank" and about["Version / 版"] == "1"
    assert "記入方法" in about and "How to fill in" in about


def test_export_refuses_answers_it_cannot_place(bank: Framework) -> None:
    with pytest.raises(MamoriError) as raised:
        export(bank, {"XX-1": Answer("XX-1", "yes")})
    assert raised.value.code == "NOT_FOUND"
    with pytest.raises(MamoriError) as raised:
        export(bank, language_order=("ja", "fr"))
    assert raised.value.code == "USAGE_INVALID"


# --- problems -------------------------------------------------------------------------------------------------


def test_every_bad_cell_is_reported_with_its_cell_in_order_and_nothing_is_imported(bank: Framework) -> None:
    data = edit(export(bank), {
        "I2": "in-house", "J2": "yes",  # a profile question has no documentation answer
        "I3": "mpc,hsm",  # not a choice
        "I4": "na", "J4": "yes",  # na has no documentation answer
        "I5": 5, "J5": "sometimes", "K5": "x" * (MAX_NOTE + 1),  # three problems in one row
        "J6": "yes",  # documentation without an answer
        "I7": "decode",  # valid: still not imported, since the workbook has problems
        "I8": "no",  # answered by the platform
        "A9": "GV-001", "I9": "yes",  # answered twice
        "A10": "XX-999", "I10": "yes",  # not in the bank
        "I11": "yes",  # no question id
        "A12": "GV-002",  # listed again but unanswered: not a problem
    })  # fmt: skip
    assert problems(data, bank) == [
        ("Questions!J2", "documentation-profile"),
        ("Questions!I3", "answer-invalid"),
        ("Questions!J4", "documentation-na"),
        ("Questions!I5", "answer-invalid"),
        ("Questions!J5", "documentation-invalid"),
        ("Questions!K5", "note-invalid"),
        ("Questions!I6", "no-answer"),
        ("Questions!I8", "machine-owned"),
        ("Questions!A9", "answered-twice"),
        ("Questions!A10", "unknown-id"),
        ("Questions!A11", "no-id"),
    ]
    assert message(data, bank, "Questions!I5") == "'5' is not an answer to GV-002: accepted 0, 1, 2, 3, 4"
    assert "any of multisig, mpc" in message(data, bank, "Questions!I3")
    assert message(data, bank, "Questions!A9") == "GV-001 is answered twice (also in row 4)"
    assert message(data, bank, "Questions!A10") == "no question 'XX-999' in bank excel-bank 1"
    assert message(data, bank, "Questions!I8") == (
        "CX-002 is answered by the platform itself (audit.log-verifies): leave this cell blank"
    )


def test_a_ynpna_problem_names_the_japanese_forms_too(bank: Framework) -> None:
    with pytest.raises(SheetError) as raised:
        read_workbook(edit(export(bank), {"I4": "たぶん"}), bank)
    (problem,) = raised.value.problems
    assert problem.en == "'たぶん' is not an answer to GV-001: accepted yes, partial, no, na"
    assert problem.ja == (
        "'たぶん' は GV-001 の回答として使えません（使用できる値: yes, partial, no, na、はい、一部、いいえ、該当なし）"
    )


def test_a_machine_answered_question_is_not_imported(bank: Framework) -> None:
    data = export(bank, {"CX-002": Answer("CX-002", "no")})
    assert read_workbook(data, bank) == {}
    assert problems(edit(data, {"I8": "yes", "J8": "yes", "K8": "checked"}), bank) == [
        ("Questions!I8", "machine-owned"),
        ("Questions!J8", "machine-owned"),
        ("Questions!K8", "machine-owned"),
    ]


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"ID,Answer\nGV-001,yes\n", "not-xlsx"),
        (b"", "not-xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "xls"),
        (b"PK\x05\x06" + bytes(18), "unreadable"),  # an empty zip archive
    ],
)
def test_a_file_that_is_not_an_xlsx_is_one_problem(bank: Framework, data: bytes, kind: str) -> None:
    assert problems(data, bank) == [("answers.xlsx", kind)]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_a_sheet_error(data: bytes) -> None:
    framework = parse_framework(yaml.safe_load(BANK))
    with pytest.raises(SheetError):
        read_workbook(data, framework)


@functools.cache
def exported_once() -> bytes:
    """One export, so that every example damages the same bytes (an export's zip carries the time it was made)."""
    framework = parse_framework(yaml.safe_load(BANK))
    return export(framework, answers(framework, {"GV-001": ("yes", "yes", "メモ")}))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_damaged_workbook_reads_whole_or_raises_only_a_sheet_error(data: st.DataObject) -> None:
    framework = parse_framework(yaml.safe_load(BANK))
    original = bytearray(exported_once())
    for _ in range(data.draw(st.integers(1, 4))):
        original[data.draw(st.integers(0, len(original) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(original) // 2, len(original)))
    try:
        read_workbook(bytes(original[:cut]), framework)
    except SheetError as error:
        assert error.problems


def test_a_missing_sheet_or_column_is_reported(bank: Framework) -> None:
    assert problems(workbook({"Sheet1": [["ID", "Answer"]]}), bank) == [("Questions", "no-sheet")]
    headers = workbook({"Questions": [["ID", "Note", "Section", "note"], ["GV-001", "", "", ""]]})
    assert problems(headers, bank) == [("Questions!1:1", "no-column"), ("Questions!1:1", "no-column"),
                                       ("Questions!1:1", "column-twice")]  # fmt: skip
    # The default layout finds its columns by their headers, wherever they are and in any case.
    moved = workbook({"questions": [["answer", " id ", "NOTE"], ["yes", "GV-001", "メモ"]]})
    with pytest.raises(SheetError) as raised:
        read_workbook(moved, bank)
    assert [p.en for p in raised.value.problems] == ["no column headed 'Documentation' (documentation) in row 1"]
    moved = workbook({"questions": [["answer", " id ", "NOTE", "Documentation"], ["yes", "GV-001", "メモ", "no"]]})
    assert read_workbook(moved, bank) == answers(bank, {"GV-001": ("yes", "no", "メモ")})


def test_a_workbook_exported_for_another_bank_is_refused(bank: Framework, shipped: Framework) -> None:
    assert problems(export(shipped), bank)[0] == ("About!B4", "other-bank")


# --- column mappings ------------------------------------------------------------------------------------------


def example_layout(rows: list[list[object]]) -> bytes:
    """A sheet in the layout of content/mappings/example-fsa-layout.yaml."""
    return workbook({
        "表紙": [["サイバーセキュリティ自己評価"]],
        "自己評価": [
            ["サイバーセキュリティ自己評価シート（例）"],
            [],
            ["No.", "項番", "確認項目", "回答", "文書化", "備考"],
            *rows,
        ],
    })  # fmt: skip


def test_the_example_mapping_reads_another_layout(shipped: Framework) -> None:
    mapping = load_column_mapping(EXAMPLE_MAPPING)
    data = example_layout([
        [1, "1-1", "…", "実施している", "規程あり", "年次で見直し"],
        [2, "1-2", "…", None, None, None],  # unanswered
        [3, "1-7", "…", "レベル3", "一部あり", None],
        [4, "2-1", "…", "該当しない", None, None],
        [5, "3-1", "…", "いいえ", "規程なし", None],  # a default wording
        [6, "GV-004", "…", "一部実施している", "文書化済", None],  # a bank id, not mapped
        [7, "9-9", "…", "実施している", None, None],  # a question the bank does not ask: skipped
        [None, "第2章", None, None, None, None],  # a heading
    ])  # fmt: skip
    assert read_workbook(data, shipped, mapping=mapping) == answers(shipped, {
        "GV-001": ("yes", "yes", "年次で見直し"), "GV-007": (3, "partial", ""), "ID-001": ("na", None, ""),
        "PR-001": ("no", "no", ""), "GV-004": ("partial", "yes", ""),
    })  # fmt: skip
    bad = example_layout([[1, "1-1", "…", "実施中", "規程あり", None], [2, "1-1", "…", "実施している", None, None]])
    assert problems(bad, shipped, mapping) == [("自己評価!D4", "answer-invalid"), ("自己評価!B5", "answered-twice")]
    assert read_workbook(example_layout([]), shipped, mapping=mapping) == {}


def test_a_mapping_by_letters_with_an_id_map_and_values(bank: Framework) -> None:
    mapping = parse_column_mapping({
        "sheet": "Self assessment",
        "header_row": 2,
        "first_row": 5,
        "columns": {"id": {"column": "b"}, "answer": {"column": "D"}, "note": {"column": "C"}},
        "ids": {1: "PROFILE.ops", "1.2": "GV-001", "G-2": "GV-002"},
        "values": {"answer": {"Done": "yes", "Level 2": 2, "Vendor": "outsourced"}},
    })  # fmt: skip
    assert mapping.documentation is None and mapping.other_ids is OtherIds.ERROR
    rows: list[list[object]] = [["Self assessment"], ["", "No", "Remarks", "Status"], [], ["", "ignored", "", ""]]
    rows += [["", 1, "", "vendor"], ["", "1.2", "社内規程あり", "DONE"], ["", "g-2", None, "level 2"]]
    data = workbook({"Self assessment": rows})
    assert read_workbook(data, bank, mapping=mapping) == answers(bank, {
        "PROFILE.ops": ("outsourced", None, ""), "GV-001": ("yes", None, "社内規程あり"), "GV-002": (2, None, ""),
    })  # fmt: skip
    rows += [["", "Z-9", "", "Done"], ["", "GV-003", "", "maybe"]]
    assert problems(workbook({"Self assessment": rows}), bank, mapping) == [
        ("'Self assessment'!B8", "unknown-id"),
        ("'Self assessment'!D9", "answer-invalid"),
    ]


def test_a_mapping_naming_a_question_the_bank_lacks_is_refused(bank: Framework) -> None:
    with pytest.raises(ColumnMappingError) as raised:
        read_workbook(example_layout([]), bank, mapping=load_column_mapping(EXAMPLE_MAPPING))
    assert (
        raised.value.code == "COLUMN_MAPPING_INVALID" and raised.value.at == "ids.1-7"
    )  # GV-001 and GV-002 are in both banks


VALID: dict[str, Any] = {"sheet": "S", "columns": {"id": {"column": "A"}, "answer": {"header": "回答"}}}


@pytest.mark.parametrize(
    ("change", "at"),
    [
        ({"sheet": None}, "sheet"),
        ({"sheet": "x" * 32}, "sheet"),
        ({"colour": "red"}, "colour"),
        ({"header_row": 0}, "header_row"),
        ({"header_row": True}, "header_row"),
        ({"header_row": 3, "first_row": 3}, "first_row"),
        ({"columns": {"id": {"column": "A"}}}, "columns.answer"),
        ({"columns": {"id": {"column": "A"}, "answer": {"column": "A"}}}, "columns.answer"),
        ({"columns": {"id": {"column": "A1"}, "answer": {"column": "B"}}}, "columns.id.column"),
        ({"columns": {"id": {"column": "XFE"}, "answer": {"column": "B"}}}, "columns.id.column"),
        ({"columns": {"id": "A", "answer": {"column": "B"}}}, "columns.id"),
        ({"columns": {"id": {"column": "A", "header": "ID"}, "answer": {"column": "B"}}}, "columns.id"),
        ({"columns": {"id": {"header": " "}, "answer": {"column": "B"}}}, "columns.id.header"),
        (
            {"columns": {"id": {"column": "A"}, "answer": {"column": "B"}, "evidence": {"column": "C"}}},
            "columns.evidence",
        ),
        ({"ids": {1.1: "GV-001"}}, "ids.1.1"),
        ({"ids": {"1": "GV-001", "2": "GV-001"}}, "ids.2"),
        ({"ids": {"1": 7}}, "ids.1"),
        ({"ids": ["GV-001"]}, "ids"),
        ({"other_ids": "ignore"}, "other_ids"),
        ({"values": {"answer": {"実施": True}}}, "values.answer.実施"),
        ({"values": {"answer": {"Yes": "yes", "YES": "yes"}}}, "values.answer.YES"),
        ({"values": {"documentation": {"あり": "maybe"}}}, "values.documentation.あり"),
        ({"values": {"score": {}}}, "values.score"),
    ],
)
def test_an_invalid_mapping_names_the_field(change: dict[str, Any], at: str) -> None:
    with pytest.raises(ColumnMappingError) as raised:
        parse_column_mapping({**VALID, **change})
    assert raised.value.code == "COLUMN_MAPPING_INVALID" and raised.value.at == at
    assert at in raised.value.message_en and at in raised.value.message_ja


def test_a_mapping_file_that_cannot_be_read(tmp_path: Path) -> None:
    assert load_column_mapping(EXAMPLE_MAPPING).sheet == "自己評価"
    with pytest.raises(InputError) as raised:
        load_column_mapping(tmp_path / "missing.yaml")
    assert raised.value.code == "INPUT_UNREADABLE"
    (tmp_path / "bad.yaml").write_text("sheet: [unclosed", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_column_mapping(tmp_path / "bad.yaml")
    assert raised.value.code == "INPUT_UNREADABLE"
    (tmp_path / "list.yaml").write_text("- sheet: S\n", encoding="utf-8")
    with pytest.raises(ColumnMappingError):
        load_column_mapping(tmp_path / "list.yaml")


# --- the shipped bank -----------------------------------------------------------------------------------------


def fill(question: Question, index: int) -> object:
    """A valid answer cell for ``question``, varied with ``index``."""
    if question.answer is AnswerType.YNPNA:
        return ("yes", "partial", "no", "na")[index % 4]
    if question.answer is AnswerType.MATURITY:
        return index % 5
    if question.answer is AnswerType.SINGLE:
        return question.choices[index % len(question.choices)].id
    return ",".join(c.id for c in question.choices[: index % (len(question.choices) + 1)]) or "none"


def test_the_shipped_bank_round_trips_when_every_question_is_answered(shipped: Framework) -> None:
    data = export(shipped)
    book = load_workbook(io.BytesIO(data))
    sheet = book["Questions"]
    rows = {sheet[f"A{row}"].value: row for row in range(2, sheet.max_row + 1)}
    questions = (*shipped.profile, *shipped.questions)
    assert list(rows) == [q.id for q in questions]
    expected: dict[str, Answer] = {}
    for index, question in enumerate(questions):
        profile = {q: a for q, a in expected.items() if q.startswith("PROFILE.")}
        if question.machine is not None or not is_asked(question, profile):
            continue
        cell = fill(question, index)
        documentation = None if question.section == "PROFILE" or cell == "na" else ("yes", "partial", "no")[index % 3]
        note = f"設問 {question.id} の根拠資料" if index % 2 else ""
        sheet[f"I{rows[question.id]}"], sheet[f"J{rows[question.id]}"] = cell, documentation
        sheet[f"K{rows[question.id]}"] = note or None
        expected[question.id] = answer(question, cell, documentation, note)
    assert any(q.machine for q in questions) and len(expected) > len(questions) - 20
    imported = read_workbook(save(book), shipped)
    assert imported == expected
    assert read_workbook(export(shipped, imported), shipped) == expected
    assert {a.documentation for a in imported.values()} == {None, *Documentation}


def test_an_answer_the_profile_rules_out_is_a_problem_at_its_cell(bank: Framework) -> None:
    outsourced = answer(bank.question("PROFILE.ops"), "outsourced")
    in_house = answer(bank.question("PROFILE.ops"), "in-house")
    data = edit(export(bank), {"I6": "all"})  # GV-003: asked when the wallets are outsourced
    assert read_workbook(data, bank, current={"PROFILE.ops": outsourced}) == {
        "GV-003": answer(bank.question("GV-003"), "all")
    }
    for problem_data, current in ((data, {"PROFILE.ops": in_house}), (edit(data, {"I2": "in-house"}), {})):
        with pytest.raises(SheetError) as caught:
            read_workbook(problem_data, bank, current=current)
        assert [(p.at, p.kind) for p in caught.value.problems] == [("Questions!I6", "not-asked")]


# --- docs/assess-excel.md -------------------------------------------------------------------------------------


def test_the_doc_lists_every_problem_and_its_examples_are_real(bank: Framework) -> None:
    assert all(f"| `{kind}` |" in DOC for kind in PROBLEMS)
    blocks = re.findall(r"```(json|yaml)\n(.*?)```", DOC, flags=re.DOTALL)
    (sheet_json, mapping_json) = [json.loads(text) for kind, text in blocks if kind == "json"]
    (mapping_yaml,) = [yaml.safe_load(text) for kind, text in blocks if kind == "yaml"]
    data = edit(export(bank), {"I4": "たぶん", "J5": "yes", "I8": "yes", "A10": "GV-01", "I10": "yes"})
    with pytest.raises(SheetError) as raised:
        read_workbook(data, bank, source="answers.xlsx")
    assert raised.value.to_dict() == sheet_json
    with pytest.raises(ColumnMappingError) as wrong:
        parse_column_mapping({**VALID, "values": {"answer": {"実施": True}}})
    assert wrong.value.to_dict() == mapping_json
    example = load_column_mapping(EXAMPLE_MAPPING)
    shown = parse_column_mapping(mapping_yaml)
    assert (shown.sheet, shown.columns(), shown.header_row, shown.first_row) == (
        example.sheet, example.columns(), example.header_row, example.first_row,
    )  # fmt: skip
    assert dict(shown.ids).items() <= dict(example.ids).items()
    assert dict(shown.answer_values).items() <= dict(example.answer_values).items()
