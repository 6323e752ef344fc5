"""Write docs/codes.md from the finding and error catalogs (`make docs`); tests check the page is current."""

from __future__ import annotations

import sys
from pathlib import Path

from mamori.errors import ERROR_CATALOG
from mamori.intel.addresses import NOTE_MESSAGES
from mamori.policy.reasons import REASON_CATALOG
from mamori.verify.codes import FINDING_CATALOG

PAGE = Path(__file__).resolve().parents[1] / "docs" / "codes.md"


def render() -> str:
    lines = [
        "# Codes",
        "",
        "Every finding and error mamori reports has a stable code. Codes are part of the interface: once released",
        "they never change meaning and are never reused. This page is generated from the catalogs in",
        "`src/mamori/verify/codes.py`, `src/mamori/policy/reasons.py`, `src/mamori/intel/addresses.py` and",
        "`src/mamori/errors.py` by `make docs`; the tests check it is current.",
        "",
        "## Finding codes",
        "",
        "Severity decides the verdict: any `critical` or `high` finding makes the verdict `blocked` "
        "(exit 1: do not sign).",
        "",
        "| code | severity | meaning (en) | 意味 (ja) |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{code}` | {sev} | {en} | {ja} |" for code, (sev, en, ja) in FINDING_CATALOG.items()]
    lines += [
        "",
        "## Policy reason codes",
        "",
        "Reasons explain a policy decision (`mamori policy check`): every deny reason is listed, not only the first.",
        "",
        "| code | meaning (en) | 意味 (ja) |",
        "|---|---|---|",
    ]
    lines += [f"| `{code}` | {en} | {ja} |" for code, (en, ja) in REASON_CATALOG.items()]
    lines += [
        "",
        "## Screening notes",
        "",
        "Notes on how an address was read by `mamori screen` (they never stop a match).",
        "",
        "| code | meaning (en) | 意味 (ja) |",
        "|---|---|---|",
    ]
    lines += [f"| `{code}` | {en} | {ja} |" for code, (en, ja) in NOTE_MESSAGES.items()]
    lines += [
        "",
        "## Error codes",
        "",
        "Errors mean the input could not be used at all: exit 2, the message on stderr, nothing printed as if it "
        "were valid.",
        "",
        "| code | message (en) | メッセージ (ja) |",
        "|---|---|---|",
    ]
    lines += [f"| `{code}` | {en} | {ja} |" for code, (en, ja) in ERROR_CATALOG.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    PAGE.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {PAGE}\n")
