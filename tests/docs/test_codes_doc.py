"""docs/codes.md documents every code of both catalogs with its severity; codes are UPPER_SNAKE."""

from __future__ import annotations

import re
from pathlib import Path

from mamori.errors import ERROR_CATALOG
from mamori.intel.addresses import NOTE_MESSAGES
from mamori.policy.reasons import REASON_CATALOG
from mamori.verify.codes import FINDING_CATALOG, SEVERITIES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "codes.md").read_text(encoding="utf-8")


def test_every_finding_code_is_documented_with_its_severity() -> None:
    for code, (severity, en, ja) in FINDING_CATALOG.items():
        assert f"| `{code}` | {severity} |" in DOC, code
        assert severity in SEVERITIES
        assert en.strip() and ja.strip()


def test_every_error_code_is_documented() -> None:
    for code in ERROR_CATALOG:
        assert f"| `{code}` |" in DOC, code


def test_every_policy_reason_is_documented() -> None:
    for code, (en, ja) in REASON_CATALOG.items():
        assert f"| `{code}` |" in DOC, code
        assert en.strip() and ja.strip()


# A code in two catalogs means the same thing in both: a fee above the limit, as the policy's reason (EVM fee caps)
# and as the PSBT verifier's finding.
SHARED = {"FEE_EXCESSIVE"}


def test_codes_are_upper_snake_and_distinct() -> None:
    codes = [*FINDING_CATALOG, *ERROR_CATALOG, *REASON_CATALOG, *NOTE_MESSAGES]
    assert len(codes) == len(set(codes)) + len(SHARED)
    assert all(code in FINDING_CATALOG and code in REASON_CATALOG for code in SHARED)
    assert all(re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", code) for code in codes)


def test_page_is_generated_from_the_catalogs() -> None:
    import runpy

    generator = runpy.run_path(str(Path(__file__).resolve().parents[2] / "scripts" / "codes_doc.py"))
    assert generator["render"]() == DOC, "docs/codes.md is stale: run `make docs`"


def test_documented_codes_exist() -> None:
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", DOC, flags=re.MULTILINE))
    assert documented == set(FINDING_CATALOG) | set(ERROR_CATALOG) | set(REASON_CATALOG) | set(NOTE_MESSAGES)
