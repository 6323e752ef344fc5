"""Column mappings: where the answers are in a spreadsheet laid out differently from mamori's own export (the
FSA's official sheet once it is published, an exchange's in-house sheet), read from a small YAML file
(docs/assess-excel.md). Pure apart from :func:`load_column_mapping`, which reads the file.

A mapping names the sheet, the header row and the first data row, and for each field (``id``, ``answer``,
``documentation``, ``note``) either a column letter (``{column: F}``) or the text of its header
(``{header: 回答}``); optionally the sheet's question ids that differ from the bank's (``ids: {sheet-id: bank-id}``)
and the sheet's own wording of answers (``values: {answer: {実施している: "yes"}, documentation: {...}}``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from mamori.errors import InputError

FIELDS = ("id", "answer", "documentation", "note")
REQUIRED_FIELDS = ("id", "answer")
LETTERS = re.compile(r"[A-Z]{1,3}")
MAX_COLUMN = 16384  # XFD, the last column of a worksheet
MAX_ROW = 1048576
DOCUMENTATION_VALUES = ("yes", "partial", "no")
_EMPTY: Mapping[str, str] = MappingProxyType({})


class ColumnMappingError(InputError):
    """A mapping that cannot be used; ``at`` names the field (``columns.answer``, ``values.answer.実施``)."""

    def __init__(self, at: str, reason: str) -> None:
        self.at = at
        self.reason = reason
        super().__init__("COLUMN_MAPPING_INVALID", at=at or "(top)", reason=reason)


class OtherIds(Enum):
    ERROR = "error"  # a row whose id is neither mapped nor the bank's is a problem (the default)
    SKIP = "skip"  # such rows are questions of the sheet that the bank does not ask: they are left out


@dataclass(frozen=True, slots=True)
class Column:
    """A column by its letter, or by the text of its header in the header row (exactly one of the two)."""

    letter: str | None = None
    header: str | None = None

    def describe(self) -> str:
        return f"column {self.letter}" if self.letter else f"the column headed {self.header!r}"


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    sheet: str
    id: Column
    answer: Column
    documentation: Column | None = None
    note: Column | None = None
    header_row: int = 1
    first_row: int = 2
    ids: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # the sheet's id (normalised) -> the bank's id
    other_ids: OtherIds = OtherIds.ERROR
    answer_values: Mapping[str, str] = field(
        default_factory=lambda: _EMPTY
    )  # normalised cell text -> an answer's text form
    documentation_values: Mapping[str, str] = field(
        default_factory=lambda: _EMPTY
    )  # normalised cell text -> yes/partial/no

    def columns(self) -> tuple[tuple[str, Column], ...]:
        """The fields this mapping reads, with their columns."""
        found = (("id", self.id), ("answer", self.answer), ("documentation", self.documentation), ("note", self.note))
        return tuple((name, column) for name, column in found if column is not None)


def normal(text: str) -> str:
    """The form cell texts and mapping keys are compared in: NFKC (full-width ``ＹＥＳ``, ``３`` and ``，`` become
    ``yes``, ``3`` and ``,``), case folded, inner runs of white space made one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def column_index(letter: str) -> int:
    """1 for ``A``, 27 for ``AA``."""
    index = 0
    for char in letter:
        index = index * 26 + ord(char) - ord("A") + 1
    return index


def load_column_mapping(path: str | Path) -> ColumnMapping:
    """The mapping in the YAML file at ``path``."""
    source = Path(path)
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError("INPUT_UNREADABLE", source=str(source), reason=exc.strerror or str(exc)) from exc
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError("INPUT_UNREADABLE", source=str(source), reason=f"not YAML: {exc}") from exc
    return parse_column_mapping(document)


def parse_column_mapping(document: Any) -> ColumnMapping:
    """The mapping of a parsed YAML ``document``; :class:`ColumnMappingError` naming the first field that is wrong."""
    if not isinstance(document, Mapping):
        raise ColumnMappingError("", "a column mapping is a mapping with sheet and columns")
    _keys(document, "", {"sheet", "header_row", "first_row", "columns", "ids", "other_ids", "values"})
    sheet = document.get("sheet")
    if not isinstance(sheet, str) or not sheet.strip() or len(sheet) > 31:
        raise ColumnMappingError("sheet", "the sheet's name is a text of 1 to 31 characters")
    header_row = _row(document, "header_row", 1)
    first_row = _row(document, "first_row", header_row + 1)
    if first_row <= header_row:
        raise ColumnMappingError("first_row", f"the data start below the header row ({header_row})")
    columns = _columns(document.get("columns"))
    ids = _ids(document.get("ids", {}))
    other = document.get("other_ids", "error")
    if other not in {o.value for o in OtherIds}:
        raise ColumnMappingError("other_ids", "other_ids is error (the default) or skip")
    values = document.get("values", {})
    if not isinstance(values, Mapping):
        raise ColumnMappingError("values", "values is a mapping with answer and documentation")
    _keys(values, "values", {"answer", "documentation"})
    answer_values = _values(values.get("answer", {}), "values.answer", allowed=None)
    documentation_values = _values(values.get("documentation", {}), "values.documentation", DOCUMENTATION_VALUES)
    return ColumnMapping(
        sheet=sheet.strip(),
        id=columns["id"],
        answer=columns["answer"],
        documentation=columns.get("documentation"),
        note=columns.get("note"),
        header_row=header_row,
        first_row=first_row,
        ids=ids,
        other_ids=OtherIds(other),
        answer_values=answer_values,
        documentation_values=documentation_values,
    )


def _keys(item: Mapping[Any, Any], at: str, allowed: set[str]) -> None:
    for key in item:
        if key not in allowed:
            where = f"{at}.{key}" if at else str(key)
            raise ColumnMappingError(where, f"unknown key (expected: {', '.join(sorted(allowed))})")


def _row(document: Mapping[Any, Any], key: str, default: int) -> int:
    value = document.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ROW:
        raise ColumnMappingError(key, f"a row number is a whole number from 1 to {MAX_ROW}")
    return value


def _columns(item: Any) -> dict[str, Column]:
    if not isinstance(item, Mapping):
        raise ColumnMappingError("columns", "columns is a mapping from id, answer, documentation, note to a column")
    _keys(item, "columns", set(FIELDS))
    for name in REQUIRED_FIELDS:
        if name not in item:
            raise ColumnMappingError(f"columns.{name}", "missing: the importer needs the id and the answer columns")
    columns = {name: _column(spec, f"columns.{name}") for name, spec in item.items()}
    seen: dict[Column, str] = {}
    for name, column in columns.items():
        if column in seen:
            raise ColumnMappingError(f"columns.{name}", f"the same column as columns.{seen[column]}")
        seen[column] = name
    return columns


def _column(spec: Any, at: str) -> Column:
    if not isinstance(spec, Mapping) or len(spec) != 1 or not ({"column", "header"} & set(spec)):
        raise ColumnMappingError(at, "give a column letter ({column: F}) or a header text ({header: 回答})")
    if "column" in spec:
        letter = spec["column"]
        if not isinstance(letter, str) or not LETTERS.fullmatch(letter.strip().upper()):
            raise ColumnMappingError(f"{at}.column", "a column letter is A to XFD")
        letter = letter.strip().upper()
        if column_index(letter) > MAX_COLUMN:
            raise ColumnMappingError(f"{at}.column", "a column letter is A to XFD")
        return Column(letter=letter)
    header = spec["header"]
    if not isinstance(header, str | int) or isinstance(header, bool) or not normal(str(header)):
        raise ColumnMappingError(f"{at}.header", "a header is the text of a cell in the header row")
    return Column(header=str(header).strip())


def _key(key: Any, at: str) -> str:
    """A sheet-side key: text, or a whole number; a YAML float (``1.10`` read as 1.1) or boolean must be quoted."""
    if isinstance(key, bool) or not isinstance(key, str | int):
        raise ColumnMappingError(f"{at}.{key}", "write this key in quotes: YAML reads it as a number or true/false")
    text = normal(str(key))
    if not text:
        raise ColumnMappingError(f"{at}.{key}", "an empty key")
    return text


def _ids(item: Any) -> Mapping[str, str]:
    if not isinstance(item, Mapping):
        raise ColumnMappingError("ids", "ids is a mapping from the sheet's question id to the bank's")
    ids: dict[str, str] = {}
    targets: dict[str, Any] = {}
    for key, value in item.items():
        sheet_id = _key(key, "ids")
        if not isinstance(value, str) or not value.strip():
            raise ColumnMappingError(f"ids.{key}", "the value is the id of a question of the bank")
        if sheet_id in ids:
            raise ColumnMappingError(f"ids.{key}", "this sheet id is given twice")
        bank_id = value.strip()
        if bank_id in targets:
            raise ColumnMappingError(f"ids.{key}", f"{bank_id} is already the question of sheet id {targets[bank_id]}")
        ids[sheet_id] = bank_id
        targets[bank_id] = key
    return MappingProxyType(ids)


def _values(item: Any, at: str, allowed: tuple[str, ...] | None) -> Mapping[str, str]:
    if not isinstance(item, Mapping):
        raise ColumnMappingError(at, "a mapping from the sheet's wording to an answer")
    values: dict[str, str] = {}
    for key, value in item.items():
        text = _key(key, at)
        if isinstance(value, bool):
            raise ColumnMappingError(f"{at}.{key}", 'write "yes" and "no" in quotes: YAML reads them as true/false')
        if not isinstance(value, str | int) or not str(value).strip():
            raise ColumnMappingError(f"{at}.{key}", "the value is an answer's text form (yes, partial, no, na, 0-4, …)")
        target = str(value).strip().lower()
        if allowed is not None and target not in allowed:
            raise ColumnMappingError(f"{at}.{key}", f"a documentation answer is one of {', '.join(allowed)}")
        if text in values:
            raise ColumnMappingError(f"{at}.{key}", "this wording is given twice")
        values[text] = target
    return MappingProxyType(values)
