"""docs/guard.md states the permission matrix and the HTTP status of each error code: both must be the code's."""

from __future__ import annotations

import re
from pathlib import Path

from mamori.api.app import STATUS
from mamori.service.auth import PERMISSIONS, ROLES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "guard.md").read_text(encoding="utf-8")


def test_the_permission_table_is_the_code_s() -> None:
    documented = {}
    for line in DOC.splitlines():
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        if len(cells) == len(ROLES) + 2 and re.fullmatch(r"`[a-z_]+\.[a-z_]+`", cells[0]):
            documented[cells[0].strip("`")] = frozenset(r for r, cell in zip(ROLES, cells[1:-1], strict=True) if cell)
    assert documented == dict(PERMISSIONS)


def test_the_status_table_is_the_code_s() -> None:
    section = DOC.split("## Errors", 1)[1]
    for status, codes in re.findall(r"^\| (\d{3}) \| (.+) \|$", section, flags=re.MULTILINE):
        for code in re.findall(r"`([A-Z_]+)`", codes):
            assert STATUS.get(code, 422) == int(status), code
