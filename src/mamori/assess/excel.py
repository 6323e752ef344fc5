"""The self-assessment as an Excel workbook a person fills in, and read back (docs/assess-excel.md).

:func:`export_workbook` writes the bank's questions, one row each (profile questions first), with drop-down lists
where Excel can hold them; :func:`read_workbook` reads the answers back **all or nothing**: every problem is
collected with its cell (``Questions!I12``) and one :class:`SheetError` carries them all, or every answer is
returned. A :class:`~mamori.assess.column_mapping.ColumnMapping` lets it read another layout (the FSA's sheet once
published). Questions the platform answers itself (``machine``) are shown but never imported.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from mamori.assess.answers import (
    MAX_NOTE,
    Answer,
    AnswerError,
    Documentation,
    accepted_values,
    answer,
    parse_documentation,
    parse_note,
    parse_value,
)
from mamori.assess.column_mapping import Column, ColumnMapping, ColumnMappingError, OtherIds, column_index, normal
from mamori.assess.framework import AnswerType, Framework, Question, Text
from mamori.assess.scoring import is_asked
from mamori.errors import ERROR_CATALOG, InputError, MamoriError

QUESTIONS_SHEET = "Questions"
ABOUT_SHEET = "About"
BANK_LABEL = "Question bank id / 質問集 ID"
MAX_ROWS = 10_000  # rows with something written in them; a bank has a few hundred questions

# The Questions sheet: (header, width). The two question texts follow ``language_order``.
ID, ANSWER, DOCUMENTATION, NOTE, SOURCE = "ID", "Answer", "Documentation", "Note", "Source"
QUESTION_HEADERS = {"ja": "Question (日本語)", "en": "Question (English)"}
WIDTHS = {"ID": 22, "Section": 10, "Level": 10, "Weight": 8, "ja": 60, "en": 60, "Answer type": 11,
          "Allowed answers": 34, ANSWER: 14, DOCUMENTATION: 15, NOTE: 40, "Evidence hints": 40, "CSF 2.0": 14,
          "FSA guideline": 10, "Asked when": 26, SOURCE: 18}  # fmt: skip

DEFAULT_MAPPING = ColumnMapping(
    sheet=QUESTIONS_SHEET,
    id=Column(header=ID),
    answer=Column(header=ANSWER),
    documentation=Column(header=DOCUMENTATION),
    note=Column(header=NOTE),
)
# Japanese (and other common) wordings accepted by default; a mapping's ``values`` add to them and win.
DEFAULT_ANSWER_VALUES: Mapping[str, str] = {
    "はい": "yes", "一部": "partial", "いいえ": "no", "該当なし": "na", "対象外": "na", "n/a": "na", "なし": "none",
}  # fmt: skip
DEFAULT_DOCUMENTATION_VALUES: Mapping[str, str] = {
    "文書化済": "yes", "文書化済み": "yes", "はい": "yes", "一部": "partial", "未文書化": "no", "いいえ": "no",
}  # fmt: skip
YNPNA_LIST = "yes,partial,no,na,はい,一部,いいえ,該当なし"
DOCUMENTATION_LIST = "yes,partial,no,文書化済,一部,未文書化"

_HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # where a person writes
_CLOSED_FILL = PatternFill("solid", fgColor="D9D9D9")  # nothing to write: machine-answered, no documentation
_WRAP = Alignment(wrap_text=True, vertical="top")


# Problems of a workbook: kind -> (English, Japanese); the kinds are stable (docs/assess-excel.md).
PROBLEMS: Mapping[str, tuple[str, str]] = {
    "not-xlsx": ("not an Excel workbook (.xlsx)", "Excel ブック（.xlsx）ではありません"),
    "xls": (
        "an .xls or password-protected workbook: save it as .xlsx without a password",
        ".xls 形式またはパスワード付きのブックです。パスワードなしの .xlsx 形式で保存してください",
    ),
    "unreadable": ("an .xlsx that cannot be read ({reason})", "読み込めない .xlsx です（{reason}）"),
    "no-sheet": (
        "the workbook has no sheet {sheet!r} (it has: {names})",
        "シート {sheet!r} がありません（あるシート: {names}）",
    ),
    "no-column": (
        "no column headed {header!r} ({field}) in row {row}",
        "{row} 行目に見出し {header!r}（{field}）の列がありません",
    ),
    "column-twice": (
        "the header {header!r} ({field}) is in columns {where}: keep one",
        "見出し {header!r}（{field}）が複数の列（{where}）にあります。一つにしてください",
    ),
    "too-many-rows": ("more than {limit} rows hold answers", "回答のある行が {limit} 行を超えています"),
    "other-bank": (
        "the workbook was exported for bank {found!r}, not {bank!r}",
        "質問集 {found!r} 用のブックです（取り込み先の質問集は {bank!r}）",
    ),
    "no-id": ("an answer without a question id", "設問 ID が空欄です（回答だけが記入されています）"),
    "unknown-id": ("no question {id!r} in bank {bank}", "質問集 {bank} に設問 {id!r} はありません"),
    "answered-twice": (
        "{id} is answered twice (also in row {row})",
        "{id} が二度回答されています（{row} 行目にもあります）",
    ),
    "machine-owned": (
        "{id} is answered by the platform itself ({check}): leave this cell blank",
        "{id} はプラットフォームが自動で回答します（{check}）。このセルは空欄のままにしてください",
    ),
    "no-answer": (
        "no answer to {id}, but documentation or a note is given: answer it or clear them",
        "{id} の回答が空欄です（文書化の状況または備考だけが記入されています）",
    ),
    "answer-invalid": (
        "{given!r} is not an answer to {id}: accepted {accepted}",
        "{given!r} は {id} の回答として使えません（使用できる値: {accepted}{hint}）",
    ),
    "documentation-profile": (
        "a profile question has no documentation answer: leave it blank",
        "プロファイル設問には文書化の回答はありません。空欄にしてください",
    ),
    "documentation-na": (
        "a question answered na has no documentation answer: leave it blank",
        "na（該当なし）と回答した設問には文書化の回答はありません。空欄にしてください",
    ),
    "documentation-invalid": (
        "{given!r} is not a documentation answer: accepted yes, partial, no (文書化済, 一部, 未文書化)",
        "{given!r} は文書化の回答として使えません（使用できる値: yes/文書化済、partial/一部、no/未文書化）",
    ),
    "not-asked": (
        "{id} is not asked of this organisation: the profile answer to {profile} rules it out",
        "{id} はこの組織には適用されません（プロファイル設問 {profile} の回答により対象外）",
    ),
    "note-invalid": (
        "the note has {length} characters or control characters: at most {limit} characters of text",
        "備考が {length} 文字あるか制御文字を含んでいます（{limit} 文字まで）",
    ),
}


@dataclass(frozen=True, slots=True)
class SheetProblem:
    at: str  # the cell (``Questions!I12``), the row (``Questions!1:1``), the sheet or the file
    kind: str  # a key of PROBLEMS
    en: str
    ja: str

    @classmethod
    def of(cls, at: str, kind: str, **details: object) -> SheetProblem:
        en, ja = PROBLEMS[kind]
        return cls(at, kind, en.format(**details), ja.format(**details))


class SheetError(InputError):
    """A workbook that cannot be imported; ``problems`` lists every problem found, in cell order."""

    def __init__(self, source: str, problems: Sequence[SheetProblem]) -> None:
        self.problems = list(problems)
        head = self.problems[0]
        super().__init__("SHEET_INVALID", source=source, count=len(self.problems), first=f"{head.at}: {head.en}")
        # The catalog's Japanese message names the first problem: in Japanese.
        self.message_ja = ERROR_CATALOG["SHEET_INVALID"][1].format(
            source=source, count=len(self.problems), first=f"{head.at}: {head.ja}"
        )

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["error"]["problems"] = [
            {"at": p.at, "kind": p.kind, "problem": p.en, "problem_ja": p.ja} for p in self.problems
        ]
        return body


# --- export ---------------------------------------------------------------------------------------------------


def export_workbook(
    framework: Framework,
    answers: Mapping[str, Answer],
    *,
    organisation: str,
    year: int,
    language_order: Sequence[str] = ("ja", "en"),
) -> bytes:
    """An .xlsx of the bank's questions, profile questions first, with ``answers`` filled in, for a person to
    complete; the two question texts (and the evidence hints, the choices) in ``language_order``."""
    languages = tuple(language_order)
    if sorted(languages) != ["en", "ja"]:
        raise MamoriError("USAGE_INVALID", reason=f"language_order is ja and en in some order, not {languages}")
    questions = (*framework.profile, *framework.questions)
    known = {q.id for q in questions}
    for key, given in answers.items():
        if key not in known or given.question != key:
            raise MamoriError("NOT_FOUND", what="question", id=key)
    book = Workbook()
    sheet = book.active
    sheet.title = QUESTIONS_SHEET
    keys = ("ID", "Section", "Level", "Weight", *languages, "Answer type", "Allowed answers", ANSWER, DOCUMENTATION,
            NOTE, "Evidence hints", "CSF 2.0", "FSA guideline", "Asked when", SOURCE)  # fmt: skip
    letters = {key: get_column_letter(index) for index, key in enumerate(keys, start=1)}
    for key, letter in letters.items():
        cell = sheet[f"{letter}1"]
        cell.value = QUESTION_HEADERS.get(key, key)
        cell.font, cell.fill, cell.alignment = Font(bold=True, color="FFFFFF"), _HEADER_FILL, _WRAP
        sheet.column_dimensions[letter].width = WIDTHS[key]
    validations: dict[str, Any] = {}
    for number, question in enumerate(questions, start=2):
        for key, value in _row(question, answers.get(question.id), languages).items():
            _put(sheet[f"{letters[key]}{number}"], value)
        for key in (ANSWER, DOCUMENTATION, NOTE):
            closed = question.machine is not None or (key == DOCUMENTATION and question.section == "PROFILE")
            sheet[f"{letters[key]}{number}"].fill = _CLOSED_FILL if closed else _INPUT_FILL
            kind = _validation_kind(question, key, closed=closed)
            if kind is not None:
                if kind not in validations:
                    validations[kind] = _validation(kind)
                    sheet.add_data_validation(validations[kind])
                validations[kind].add(f"{letters[key]}{number}")
    sheet.auto_filter.ref = f"A1:{letters[SOURCE]}{len(questions) + 1}"
    sheet.freeze_panes = "B2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    _about(book.create_sheet(ABOUT_SHEET), framework, organisation, year, languages)
    book.properties.creator = "mamori"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _put(cell: Any, value: object) -> None:
    """Writes ``value`` as it is: a text starting with ``=`` (a note, an organisation's name) stays text, never
    a formula that Excel would run and the importer would read back empty; characters XML cannot hold are dropped."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
    cell.alignment = _WRAP


def _row(question: Question, given: Answer | None, languages: tuple[str, ...]) -> dict[str, object]:
    profile = question.section == "PROFILE"
    person = given if question.machine is None else None  # a machine's answer is shown under Source only
    source = "person"
    if question.machine is not None:
        source = f"machine: {question.machine}" + (f"\nanswer: {given.value_text()}" if given else "")
    when = question.when
    return {
        "ID": question.id,
        "Section": question.section,
        "Level": "" if profile else question.level.value,
        "Weight": None if profile else question.weight,
        "ja": question.text.ja,
        "en": question.text.en,
        "Answer type": question.answer.value,
        "Allowed answers": _allowed(question, languages),
        ANSWER: None if person is None else person.value if isinstance(person.value, int) else person.value_text(),
        DOCUMENTATION: person.documentation.value if person and person.documentation else None,
        NOTE: (person.note or None) if person else None,
        "Evidence hints": "\n".join(_both(t, languages) for t in question.evidence),
        "CSF 2.0": ", ".join(question.csf),
        "FSA guideline": ", ".join(question.guideline),
        "Asked when": f"{when.question}: {', '.join(sorted(when.any_of))}" if when else "",
        SOURCE: source,
    }


def _both(text: Text, languages: tuple[str, ...]) -> str:
    first, second = (getattr(text, language) for language in languages)
    return f"{first} / {second}"


def _allowed(question: Question, languages: tuple[str, ...]) -> str:
    lines = [accepted_values(question)]
    if question.answer is AnswerType.YNPNA:
        lines.append("はい、一部、いいえ、該当なし")
    if question.answer is AnswerType.MULTIPLE:
        lines.append("（複数は「,」区切り、選択なしは none）")
    lines.extend(f"{choice.id}: {_both(choice.text, languages)}" for choice in question.choices)
    return "\n".join(lines)


def _validation_kind(question: Question, key: str, *, closed: bool) -> str | None:
    """Which drop-down list or blank-only rule the cell of ``key`` gets; ``None`` where Excel cannot hold one."""
    if closed:
        return "machine" if question.machine is not None else "no-documentation"
    if key == DOCUMENTATION:
        return "documentation"
    if key != ANSWER or question.answer is AnswerType.MULTIPLE:
        return None
    if question.answer is AnswerType.SINGLE:
        choices = ",".join(choice.id for choice in question.choices)
        return f"list:{choices}" if len(choices) <= 253 else None  # Excel: 255 characters with the quotes
    return f"list:{YNPNA_LIST}" if question.answer is AnswerType.YNPNA else "list:0,1,2,3,4"


def _validation(kind: str) -> Any:
    if kind.startswith("list:"):
        # A warning, not a stop: the importer accepts more wordings than the list shows (docs/assess-excel.md).
        return DataValidation(type="list", formula1=f'"{kind[5:]}"', allow_blank=True, showErrorMessage=True,
                              errorStyle="warning", errorTitle="mamori", error=_NOT_LISTED)  # fmt: skip
    if kind == "documentation":
        return DataValidation(type="list", formula1=f'"{DOCUMENTATION_LIST}"', allow_blank=True,
                              showErrorMessage=True, errorStyle="warning", errorTitle="mamori", error=_NOT_LISTED,
                              showInputMessage=True, prompt=_DOCUMENTATION_PROMPT)  # fmt: skip
    return DataValidation(type="textLength", operator="equal", formula1="0", allow_blank=True, showErrorMessage=True,
                          errorStyle="stop", errorTitle="mamori", error=_CLOSED[kind])  # fmt: skip


_NOT_LISTED = "Not in the list / 一覧にない値です"
_DOCUMENTATION_PROMPT = "Written down and approved? / 文書化・承認されていますか"
_CLOSED = {
    "machine": "Answered by the platform itself: leave it blank / プラットフォームが自動で回答します",
    "no-documentation": "Profile questions have no documentation answer / プロファイル設問には記入しません",
}
_INSTRUCTIONS = {
    "ja": (
        "「Questions」シートの Answer 列に回答を、Documentation 列に文書化の状況を記入してください。"
        "使用できる値は Allowed answers 列のとおりです（yes/はい、partial/一部、no/いいえ、na/該当なし、"
        "成熟度は 0〜4、選択式は選択肢の ID、複数選択はカンマ区切り、選択なしは none）。"
        "Documentation は yes/文書化済、partial/一部、no/未文書化 です"
        "（プロファイル設問と na の設問には記入しません）。"
        "Source 列が machine の設問はプラットフォームが自動で回答するため記入しないでください。"
        "ID 列は変更しないでください。取り込みは問題が一つもない場合にのみ行われ、"
        "問題があればすべてをセルの位置とともに報告します。"
    ),
    "en": (
        "Write each answer in the Answer column of the Questions sheet, and whether it is written down and "
        "approved in the Documentation column. The Allowed answers column says what each question accepts (yes, "
        "partial, no, na; maturity 0 to 4; a choice id; several choice ids separated by commas, or none). "
        "Documentation is yes, partial or no (not for profile questions nor questions answered na). Leave the "
        "rows whose Source is machine blank: the platform answers them itself. Do not change the IDs. The "
        "workbook is imported only when it has no problem at all; otherwise every problem is reported with its cell."
    ),
}


def _about(sheet: Any, framework: Framework, organisation: str, year: int, languages: tuple[str, ...]) -> None:
    rows: list[tuple[str, object]] = [
        ("Organisation / 組織", organisation),
        ("Year / 年度", year),
        ("Question bank / 質問集", _both(framework.title, languages)),
        (BANK_LABEL, framework.id),
        ("Version / 版", framework.version),
        ("", ""),
        *(("記入方法" if language == "ja" else "How to fill in", _INSTRUCTIONS[language]) for language in languages),
    ]
    for number, (label, value) in enumerate(rows, start=1):
        _put(sheet[f"A{number}"], label)
        _put(sheet[f"B{number}"], value)
        sheet[f"A{number}"].font = Font(bold=True)
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 100


# --- import ---------------------------------------------------------------------------------------------------


def read_workbook(
    data: bytes,
    framework: Framework,
    *,
    mapping: ColumnMapping | None = None,
    source: str = "workbook",
    current: Mapping[str, Answer] | None = None,
) -> dict[str, Answer]:
    """Every answer in the workbook ``data``, or :class:`SheetError` with every problem and nothing returned.

    Without ``mapping`` the layout is :func:`export_workbook`'s (:data:`DEFAULT_MAPPING`). Rows with nothing in
    the answer, documentation and note cells are unanswered questions and are left out. An answer to a question
    that the profile answers (the workbook's, else ``current``'s) rule out is a problem at its cell.
    """
    layout = mapping or DEFAULT_MAPPING
    questions = {q.id: q for q in (*framework.profile, *framework.questions)}
    for sheet_id, bank_id in layout.ids.items():
        if bank_id not in questions:
            raise ColumnMappingError(f"ids.{sheet_id}", f"no question {bank_id} in bank {framework.id}")
    sheet = _Sheet.load(data, layout, source, about=mapping is None)
    reader = _Reader(framework, questions, layout, sheet)
    if sheet.bank is not None and sheet.bank[1] != framework.id:
        reader.problems.append((0, 0, SheetProblem.of(sheet.bank[0], "other-bank", found=sheet.bank[1],
                                                      bank=framework.id)))  # fmt: skip
    for number, cells in sheet.rows:
        reader.row(number, cells)
    reader.not_asked(current or {})
    if reader.problems:
        raise SheetError(source, [p for _, _, p in sorted(reader.problems, key=lambda item: item[:2])])
    return reader.answers


@dataclass(frozen=True, slots=True)
class _Sheet:
    name: str
    columns: Mapping[str, int]  # field -> column number
    rows: list[tuple[int, dict[str, object]]]  # rows with something in a field other than the id
    bank: tuple[str, str] | None  # (cell, bank id) written in the About sheet of mamori's export

    @staticmethod
    def load(data: bytes, layout: ColumnMapping, source: str, *, about: bool) -> _Sheet:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns of workbook features it does not read
            try:
                book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            except Exception as exc:  # openpyxl raises many kinds on what is not an xlsx
                raise SheetError(source, [_unreadable(source, data, exc)]) from exc
            try:
                return _Sheet._read(book, layout, source, about=about)
            except SheetError:
                raise
            except Exception as exc:  # malformed parts surface only while the rows are streamed
                raise SheetError(source, [_unreadable(source, data, exc)]) from exc
            finally:
                book.close()

    @staticmethod
    def _read(book: Any, layout: ColumnMapping, source: str, *, about: bool) -> _Sheet:
        names = [str(name) for name in book.sheetnames]
        name = next((n for n in names if n.casefold() == layout.sheet.casefold()), None)
        if name is None:
            found = ", ".join(names)
            raise SheetError(
                source, [SheetProblem.of(_quote(layout.sheet), "no-sheet", sheet=layout.sheet, names=found)]
            )
        worksheet = book[name]
        columns, problems = _resolve(layout, name, worksheet)
        if problems:
            raise SheetError(source, problems)
        rows: list[tuple[int, dict[str, object]]] = []
        cells = worksheet.iter_rows(min_row=layout.first_row, max_col=max(columns.values()), values_only=True)
        for number, values in enumerate(cells, start=layout.first_row):
            row = {field: values[index - 1] if index <= len(values) else None for field, index in columns.items()}
            if any(_text(value) is not None for field, value in row.items() if field != "id"):
                rows.append((number, row))
                if len(rows) > MAX_ROWS:
                    raise SheetError(source, [SheetProblem.of(_quote(name), "too-many-rows", limit=MAX_ROWS)])
        bank = _about_bank(book) if about and ABOUT_SHEET in names else None
        return _Sheet(name, columns, rows, bank)


def _resolve(layout: ColumnMapping, name: str, worksheet: Any) -> tuple[dict[str, int], list[SheetProblem]]:
    """Each field's column number; a problem for each header that is missing or found twice."""
    headers: list[str] = []
    if any(column.header for _, column in layout.columns()):
        row = next(worksheet.iter_rows(min_row=layout.header_row, max_row=layout.header_row, values_only=True), ())
        headers = [normal(text) if (text := _text(value)) else "" for value in row]
    columns: dict[str, int] = {}
    problems: list[SheetProblem] = []
    at = f"{_quote(name)}!{layout.header_row}:{layout.header_row}"
    for field, column in layout.columns():
        if column.letter:
            columns[field] = column_index(column.letter)
            continue
        found = [index for index, text in enumerate(headers, start=1) if text == normal(column.header or "")]
        details = {"header": column.header, "field": field}
        if len(found) == 1:
            columns[field] = found[0]
        elif not found:
            problems.append(SheetProblem.of(at, "no-column", row=layout.header_row, **details))
        else:
            where = ", ".join(get_column_letter(index) for index in found)
            problems.append(SheetProblem.of(at, "column-twice", where=where, **details))
    return columns, problems


def _about_bank(book: Any) -> tuple[str, str] | None:
    rows = book[ABOUT_SHEET].iter_rows(max_row=50, max_col=2, values_only=True)
    for number, row in enumerate(rows, start=1):
        label, value = (*row, None, None)[:2]
        if isinstance(label, str) and normal(label) == normal(BANK_LABEL) and (text := _text(value)):
            return f"{ABOUT_SHEET}!B{number}", text
    return None


def _unreadable(source: str, data: bytes, exc: Exception) -> SheetProblem:
    if data[:4] == b"\xd0\xcf\x11\xe0":  # an OLE container: the old .xls format, or an encrypted workbook
        return SheetProblem.of(source, "xls")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return SheetProblem.of(source, "not-xlsx")
    return SheetProblem.of(source, "unreadable", reason=f"{type(exc).__name__}: {exc}"[:200])


def _quote(sheet: str) -> str:
    """The sheet's name as Excel writes it in a reference (quoted when it holds spaces or punctuation)."""
    return sheet if re.fullmatch(r"\w+", sheet) else "'" + sheet.replace("'", "''") + "'"


def _text(value: object) -> str | None:
    """A cell's content as trimmed text, ``None`` when blank; 3 and 3.0 are both ``"3"``."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    return text.strip() or None


class _Reader:
    """Reads the rows, noting every problem with its cell instead of stopping at the first."""

    def __init__(
        self, framework: Framework, questions: Mapping[str, Question], layout: ColumnMapping, sheet: _Sheet
    ) -> None:
        self.bank = f"{framework.id} {framework.version}"
        self.questions = questions
        self.by_normal = {normal(key): key for key in questions}
        self.layout = layout
        self.sheet = sheet
        self.answer_values = {**DEFAULT_ANSWER_VALUES, **layout.answer_values}
        self.documentation_values = {**DEFAULT_DOCUMENTATION_VALUES, **layout.documentation_values}
        self.problems: list[tuple[int, int, SheetProblem]] = []  # (row, column, problem): sorted at the end
        self.rows: dict[str, int] = {}  # bank id -> the row it was answered in
        self.answers: dict[str, Answer] = {}

    def problem(self, field: str, number: int, kind: str, **details: object) -> None:
        column = self.sheet.columns[field]
        at = f"{_quote(self.sheet.name)}!{get_column_letter(column)}{number}"
        self.problems.append((number, column, SheetProblem.of(at, kind, **details)))

    def row(self, number: int, cells: Mapping[str, object]) -> None:
        sheet_id = _text(cells["id"])
        if sheet_id is None:
            self.problem("id", number, "no-id")
            return
        key = self.layout.ids.get(normal(sheet_id)) or self.by_normal.get(normal(sheet_id))
        if key is None:
            if self.layout.other_ids is not OtherIds.SKIP:
                self.problem("id", number, "unknown-id", id=sheet_id, bank=self.bank)
            return
        if key in self.rows:
            self.problem("id", number, "answered-twice", id=key, row=self.rows[key])
            return
        self.rows[key] = number
        question = self.questions[key]
        given = {field: _text(value) for field, value in cells.items() if field != "id"}
        if question.machine is not None:
            for field in (f for f, text in given.items() if text is not None):
                self.problem(field, number, "machine-owned", id=key, check=question.machine)
            return
        raw = given["answer"]
        if raw is None:
            self.problem("answer", number, "no-answer", id=key)
            return
        self.answer(number, question, raw, given.get("documentation"), cells.get("note"))

    def answer(self, number: int, question: Question, raw: str, documentation: str | None, note: object) -> None:
        before = len(self.problems)
        text = self.value_text(question, raw)
        value: object = None
        try:
            value = parse_value(question, text)
        except AnswerError:
            hint = "、はい、一部、いいえ、該当なし" if question.answer is AnswerType.YNPNA else ""
            accepted = accepted_values(question)
            self.problem("answer", number, "answer-invalid", given=raw, id=question.id, accepted=accepted, hint=hint)
        doc: Documentation | None = None
        if documentation is not None:
            if question.section == "PROFILE":
                self.problem("documentation", number, "documentation-profile")
            elif value == "na":
                self.problem("documentation", number, "documentation-na")
            else:
                key = normal(documentation)
                try:
                    doc = parse_documentation(question.id, self.documentation_values.get(key, key))
                except AnswerError:
                    self.problem("documentation", number, "documentation-invalid", given=documentation)
        # Excel keeps a line break in a cell as LF; a sheet from elsewhere may have CR LF.
        note_text = "" if note is None else (note if isinstance(note, str) else _text(note) or "")
        note_text = note_text.replace("\r\n", "\n").replace("\r", "\n")
        try:
            note_text = parse_note(question.id, note_text)
        except AnswerError:
            self.problem("note", number, "note-invalid", length=len(note_text), limit=MAX_NOTE)
        if len(self.problems) == before:
            self.answers[question.id] = answer(question, text, doc.value if doc else None, note_text)

    def not_asked(self, current: Mapping[str, Answer]) -> None:
        merged = {**current, **self.answers}
        profile = {k: a for k, a in merged.items() if k in self.questions and self.questions[k].section == "PROFILE"}
        for key in list(self.answers):
            question = self.questions[key]
            if question.when is not None and not is_asked(question, profile):
                self.problem("answer", self.rows[key], "not-asked", id=key, profile=question.when.question)
                del self.answers[key]

    def value_text(self, question: Question, raw: str) -> str:
        """The answer's text form: the cell's wording mapped (whole, or each choice of a multiple answer)."""
        key = normal(raw)
        if key in self.answer_values:
            return self.answer_values[key]
        if question.answer is AnswerType.MULTIPLE:
            return ",".join(self.answer_values.get(part.strip(), part.strip()) for part in re.split(r"[,、]", key))
        return key
