"""``--batch FILE.jsonl``: one input per line in, one JSON result per line out, in order.

A line that cannot be processed yields an error object on its own line and the run goes on. Every result
carries its 1-based ``line``. Exit code: 2 if any line was bad, else 1 if any result blocks signing, else 0.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from mamori.errors import InputError, MamoriError


def process_lines(lines: Any, verify_line: Callable[[bytes], dict[str, Any]], out: BinaryIO) -> int:
    """The batch engine, separated from file handling so that benchmarks and tests drive it directly."""
    any_bad = any_blocked = False
    dumps = orjson.dumps
    write = out.write
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            result = verify_line(line)
            result["line"] = number
            encoded = dumps(result)
        except MamoriError as exc:
            any_bad = True
            error = exc.to_dict()
            error["line"] = number
            write(dumps(error) + b"\n")
            continue
        except Exception as exc:  # noqa: BLE001 - one broken line must not stop the batch; it denies
            any_bad = True
            error = MamoriError("INTERNAL_ERROR", reason=type(exc).__name__).to_dict()
            error["line"] = number
            write(dumps(error) + b"\n")
            continue
        if result.get("verdict") == "blocked":
            any_blocked = True
        write(encoded + b"\n")
    return 2 if any_bad else 1 if any_blocked else 0


def run_batch(source: str, verify_line: Callable[[bytes], dict[str, Any]]) -> int:
    try:
        handle = sys.stdin.buffer if source == "-" else Path(source).open("rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError("INPUT_UNREADABLE", source=source, reason=exc.strerror or str(exc)) from exc
    try:
        code = process_lines(handle, verify_line, sys.stdout.buffer)
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
    sys.stdout.buffer.flush()
    return code
