"""Reading the CLI's inputs: JSON documents, Safe context files, raw transactions. Errors become MamoriError."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import orjson
import yaml

from mamori.errors import InputError, MamoriError
from mamori.verify.context import SafeBook


class _AddressSafeLoader(yaml.SafeLoader):
    """YAML 1.1 reads an unquoted ``0x1Db9…`` as a hexadecimal integer; addresses must stay text."""


_AddressSafeLoader.yaml_implicit_resolvers = {
    first: list(resolvers) for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_AddressSafeLoader.yaml_implicit_resolvers["0"] = [
    ("tag:yaml.org,2002:str", re.compile(r"^0[xX][0-9a-fA-F]+$")),
    *_AddressSafeLoader.yaml_implicit_resolvers.get("0", []),
]


def read_bytes(source: str) -> bytes:
    """A file's bytes, or standard input's for ``-``."""
    try:
        if source == "-":
            return sys.stdin.buffer.read()
        return Path(source).read_bytes()
    except OSError as exc:
        raise InputError("INPUT_UNREADABLE", source=source, reason=exc.strerror or str(exc)) from exc


def parse_json(raw: bytes | str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError("JSON_INVALID", reason=str(exc)) from exc


def read_json(source: str) -> Any:
    return parse_json(read_bytes(source))


def read_yaml(source: str) -> Any:
    """A YAML (or JSON) document from a file, or standard input for ``-``."""
    try:
        return yaml.safe_load(read_bytes(source))
    except yaml.YAMLError as exc:
        raise InputError("INPUT_UNREADABLE", source=source, reason=f"not YAML: {exc}") from exc


def read_safe_book(source: str) -> SafeBook:
    """A YAML or JSON file mapping Safe addresses to versions, owners and thresholds (see docs/verify.md)."""
    raw = read_bytes(source)
    try:
        document = yaml.load(raw, Loader=_AddressSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise InputError("INPUT_UNREADABLE", source=source, reason=f"not YAML or JSON: {exc}") from exc
    return SafeBook.from_document(document)


def write_error(error: MamoriError, *, as_json: bool) -> None:
    """An error on stderr as every command reports it: code and message in English and Japanese, each problem of a
    policy on its own line, and with ``--json`` the error object too."""
    sys.stderr.write(f"error {error.code}: {error.message_en}\nエラー {error.code}: {error.message_ja}\n")
    for problem in error.to_dict()["error"].get("problems", []):  # a policy reports every problem at once
        sys.stderr.write(f"  {problem['at']}: {problem['problem']}\n")
    if as_json:
        sys.stderr.write(orjson.dumps(error.to_dict()).decode() + "\n")
