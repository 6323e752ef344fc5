"""Wallet files: the descriptors of a YAML/JSON ``{wallets: [{name, descriptor}]}`` file or of one descriptor a
line, and the ``--wallet`` argument (a file's path or a descriptor written out)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mamori.chains.bitcoin.descriptor.model import Descriptor
from mamori.chains.bitcoin.descriptor.parse import NAME, parse_descriptor
from mamori.chains.bitcoin.networks import Network
from mamori.errors import InputError

MAX_WALLET_FILE_BYTES = 1 << 20


def parse_wallets(content: str, source: str, *, network: Network | str | None = None) -> list[Descriptor]:
    """The descriptors of a wallet file's text: YAML/JSON (``{wallets: [{name, descriptor}]}``) or one per line.

    In the line form, blank lines and lines starting with ``#`` are skipped and a ``# comment`` may follow a
    descriptor after a space. Raises ``DESCRIPTOR_WALLET_FILE_INVALID`` or the descriptor's own error, with the
    wallet (name or line) named.
    """
    first = next(
        (line.strip() for line in content.splitlines() if line.strip() and not line.lstrip().startswith("#")), ""
    )
    structured = first.startswith(("{", "[", "wallets:", "wallets :", "- "))
    entries = _structured_entries(content, source) if structured else _line_entries(content, source)
    if not entries:
        raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason="no descriptor in it")
    names: set[str] = set()
    wallets = []
    for where, wallet_name, text, entry_network in entries:
        if wallet_name is not None:
            if wallet_name in names:
                raise InputError(
                    "DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=f"wallet {wallet_name!r} twice"
                )
            names.add(wallet_name)
        try:
            descriptor = parse_descriptor(text, entry_network or network, name=wallet_name)
        except InputError as exc:
            reason = f"{where}: {exc.code}: {exc.message_en}"
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=reason) from exc
        wallets.append(descriptor)
    return wallets


_Entry = tuple[str, str | None, str, str | None]  # (where, name, descriptor, network)


def _line_entries(content: str, source: str) -> list[_Entry]:
    entries: list[_Entry] = []
    for number, line in enumerate(content.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        descriptor, _, comment = stripped.partition(" ")
        if comment.strip() and not comment.strip().startswith("#"):
            reason = f"line {number}: text after the descriptor (a comment starts with '#')"
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=reason)
        entries.append((f"line {number}", None, descriptor, None))
    return entries


def _structured_entries(content: str, source: str) -> list[_Entry]:
    data: Any = None
    if content.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(content)
        except ValueError:
            data = None  # YAML's flow form, {wallets: [...]}, is not JSON
    if data is None:
        try:
            data = yaml.safe_load(content)
        except yaml.YAMLError as exc:
            reason = f"not valid YAML or JSON: {str(exc)[:200]}"
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=reason) from None
    items = data.get("wallets") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason="'wallets' must be a list")
    entries: list[_Entry] = []
    for number, item in enumerate(items, start=1):
        where = f"wallet {number}"
        if isinstance(item, str):
            entries.append((where, None, item, None))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("descriptor"), str):
            reason = f"{where} needs a 'descriptor' string"
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=reason)
        unknown = set(item) - {"name", "descriptor", "network"}
        if unknown:
            reason = f"{where} has unknown field(s) {sorted(map(str, unknown))}"
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=reason)
        wallet_name = item.get("name")
        entry_network = item.get("network")
        if wallet_name is not None and not isinstance(wallet_name, str):
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=f"{where}: 'name' is not text")
        if entry_network is not None and not isinstance(entry_network, str):
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=f"{where}: 'network' is not text")
        entries.append((f"wallet {wallet_name or number}", wallet_name, item["descriptor"], entry_network))
    return entries


def load_wallets(path: str | Path, *, network: Network | str | None = None) -> list[Descriptor]:
    """Read a wallet file (YAML, JSON or one descriptor per line). The only function here that does I/O."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_WALLET_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError("INPUT_UNREADABLE", source=str(file), reason=exc.strerror or type(exc).__name__) from exc
    if len(raw) > MAX_WALLET_FILE_BYTES:
        raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=str(file), reason="larger than 1 MiB")
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=str(file), reason="not UTF-8 text") from None
    return parse_wallets(content, str(file), network=network)


def parse_wallet_argument(value: str, *, network: Network | str | None = None) -> list[Descriptor]:
    """``--wallet``: a wallet file's path, or a descriptor written out."""
    if not isinstance(value, str) or not value.strip():
        raise InputError("FIELD_TYPE_INVALID", field="--wallet", expected="a wallet file or a descriptor")
    try:
        is_file = len(value) < 4096 and Path(value).is_file()
    except (OSError, ValueError):
        is_file = False
    if is_file:
        return load_wallets(value, network=network)
    if NAME.match(value.strip()) and "(" in value:
        return [parse_descriptor(value, network)]
    raise InputError("INPUT_UNREADABLE", source=value[:80], reason="neither a wallet file nor a descriptor")
