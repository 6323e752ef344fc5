"""Loaders for address lists: OFAC SDN digital-currency addresses, the FBI's Bybit list, plain files and CSV.

Every non-blank, non-comment line becomes an entry. Text that is no known address form is kept as family
``other`` (matched exactly) and listed in the load report: a list entry is never dropped silently. Paths are
always the caller's; nothing here knows where the shipped data lives.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from mamori.chains.addresses import Family, chain_for, classify
from mamori.errors import InputError


@dataclass(frozen=True, slots=True)
class ListSource:
    """Which list an entry comes from: its name, its version (snapshot date or digest) and the inputs' SHA-256."""

    name: str
    version: str
    sha256: str


class ListEntry(NamedTuple):
    listed_as: str  # the text exactly as the list has it (stripped)
    asset: str | None  # the list's asset label (OFAC: ETH, XBT, USDT …), not necessarily the chain
    family: Family
    normalised: str
    chain: str
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What a load found, so that an operator can see what is screened and what looked wrong."""

    source: ListSource
    files: tuple[str, ...]
    entries: int
    by_family: Mapping[str, int]
    by_asset: Mapping[str, int]
    notes: Mapping[str, int]
    unrecognised: tuple[str, ...]  # kept as family "other", matched by exact text
    label_mismatches: tuple[tuple[str, str], ...]  # (asset label, address) where the form names another chain
    duplicates: int  # the same address under the same asset label more than once (e.g. in the .txt and the .json)
    format_disagreements: tuple[str, ...] = ()  # in one of an asset's .txt/.json files but not the other
    skipped_lines: int = 0  # blank lines and # comments
    upstream_sha256: str | None = None  # OFAC: SHA-256 of the sdn_advanced.xml the lists were cut from
    # --intel: newer ofac_sdn_<date> folders passed over for this one, each with why (incomplete, or not a date)
    skipped_snapshots: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "list": self.source.name,
            "version": self.source.version,
            "sha256": self.source.sha256,
            "files": list(self.files),
            "entries": self.entries,
            "by_family": dict(self.by_family),
            "by_asset": dict(self.by_asset),
            "notes": dict(self.notes),
            "unrecognised": list(self.unrecognised),
            "label_mismatches": [{"asset": a, "address": t} for a, t in self.label_mismatches],
            "duplicates": self.duplicates,
            "format_disagreements": list(self.format_disagreements),
            "skipped_lines": self.skipped_lines,
            "upstream_sha256": self.upstream_sha256,
            "skipped_snapshots": [{"folder": f, "reason": r} for f, r in self.skipped_snapshots],
        }


@dataclass(frozen=True, slots=True)
class AddressList:
    source: ListSource
    entries: tuple[ListEntry, ...]
    report: LoadReport


OFAC_FILE = re.compile(r"sanctioned_addresses_([A-Za-z0-9]+)\.(txt|json)")
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
_UPSTREAM = re.compile(r"SHA256\(sdn_advanced\.xml\)\s*=\s*([0-9a-fA-F]{64})")
_ADDRESS_COLUMNS = ("address", "wallet", "value")
_ASSET_COLUMNS = ("asset", "chain", "currency", "network")


def load_ofac_directory(directory: str | Path, *, name: str = "ofac-sdn", version: str | None = None) -> AddressList:
    """One OFAC snapshot: every ``sanctioned_addresses_<ASSET>.txt`` / ``.json`` in ``directory`` as one list.

    The version is ``version``, else the date in the directory's name (``ofac_sdn_2025-11-19``), else a digest
    of the files. Loading a newer snapshot under the same name replaces the older one whole, so that what OFAC
    delisted is no longer screened.
    """
    folder = Path(directory)
    try:
        files = sorted(p for p in folder.iterdir() if OFAC_FILE.fullmatch(p.name))
    except OSError as exc:
        raise InputError("INPUT_UNREADABLE", source=str(folder), reason=exc.strerror or str(exc)) from exc
    if not files:
        raise InputError("INPUT_UNREADABLE", source=str(folder), reason="no sanctioned_addresses_<ASSET>.txt/.json")
    collector = _Collector()
    by_format: dict[tuple[str, str], set[str]] = {}
    for path in files:
        match = OFAC_FILE.fullmatch(path.name)
        assert match is not None  # noqa: S101 - filtered above; narrows the type
        asset, suffix = match.group(1).upper(), match.group(2)
        raw = collector.read(path)
        texts = _json_texts(raw, path) if suffix == "json" else _lines(raw, path)
        by_format[asset, suffix] = {text.strip() for text in texts if text.strip()}
        collector.add_all(texts, asset)
    disagreements = sorted(
        text
        for (asset, suffix), texts in by_format.items()
        if suffix == "txt" and (asset, "json") in by_format
        for text in texts ^ by_format[asset, "json"]
    )
    date = _DATE.search(folder.resolve().name)
    chosen = version or (date.group(1) if date else None)
    return collector.finish(name, chosen, tuple(disagreements), _upstream_digest(folder))


def load_fbi_list(path: str | Path, *, name: str = "fbi-psa250226-bybit", version: str | None = None) -> AddressList:
    """The FBI's list of addresses tied to the Bybit theft (PSA I-022625-PSA): ``eth_addresses.txt`` or ``.csv``.

    The CSV's ``published`` date is the version when the file has one.
    """
    return load_address_file(path, name=name, version=version, asset="ETH")


def load_address_file(
    path: str | Path, *, name: str, version: str | None = None, asset: str | None = None
) -> AddressList:
    """A generic list: one address per line, a JSON array of strings, or CSV with an ``address`` column.

    ``asset`` labels entries that carry no asset or chain column of their own. The version is ``version``, else
    the CSV's single ``published`` date, else a digest of the file.
    """
    file = Path(path)
    collector = _Collector()
    raw = collector.read(file)
    published: str | None = None
    if file.suffix.lower() == ".json":
        collector.add_all(_json_texts(raw, file), asset)
    elif file.suffix.lower() == ".csv":
        published = _add_csv(collector, raw, file, asset)
    else:
        collector.add_all(_lines(raw, file), asset)
    return collector.finish(name, version or published)


def _add_csv(collector: _Collector, raw: bytes, file: Path, asset: str | None) -> str | None:
    """Rows of a CSV: the column a header names ``address`` (else the first), with an asset or chain column if any.

    Returns the single ``published`` date of the rows, if they have one.
    """
    try:
        # newline="" as the csv module requires: a lone CR inside a row is then data, not an error
        rows = list(csv.reader(io.StringIO(_text(raw, file), newline="")))
    except csv.Error as exc:
        raise InputError("INPUT_UNREADABLE", source=str(file), reason=f"not CSV: {exc}") from exc
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    address_at = _column(header, _ADDRESS_COLUMNS)
    if address_at is None:  # no header: every row is data, the address first
        header, address_at = [], 0
    else:
        rows = rows[1:]
    asset_at, published_at = _column(header, _ASSET_COLUMNS), _column(header, ("published",))
    dates: set[str] = set()
    for row in rows:
        cells = [cell.strip() for cell in row]
        if len(cells) <= address_at:
            collector.skipped += 1
            continue
        label = cells[asset_at] if asset_at is not None and asset_at < len(cells) and cells[asset_at] else asset
        collector.add(cells[address_at], label)
        if published_at is not None and published_at < len(cells):
            dates.add(cells[published_at])
    dates.discard("")
    return dates.pop() if len(dates) == 1 else None


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    return next((header.index(name) for name in names if name in header), None)


class _Collector:
    """Accumulates entries and the report's counts; one per loaded list."""

    def __init__(self) -> None:
        self.entries: list[ListEntry] = []
        self.seen: set[tuple[str, str, str | None]] = set()
        self.file_digests: list[tuple[str, str]] = []
        self.files: list[str] = []
        self.by_family: Counter[str] = Counter()
        self.by_asset: Counter[str] = Counter()
        self.notes: Counter[str] = Counter()
        self.unrecognised: list[str] = []
        self.mismatches: list[tuple[str, str]] = []
        self.duplicates = 0
        self.skipped = 0

    def read(self, path: Path) -> bytes:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InputError("INPUT_UNREADABLE", source=str(path), reason=exc.strerror or str(exc)) from exc
        self.file_digests.append((path.name, hashlib.sha256(raw).hexdigest()))
        self.files.append(path.name)
        return raw

    def add_all(self, texts: Iterable[str], asset: str | None) -> None:
        for text in texts:
            self.add(text, asset)

    def add(self, text: str, asset: str | None) -> None:
        listed = text.strip()
        if not listed or listed.startswith("#"):
            self.skipped += 1
            return
        classified = classify(listed)
        family, canonical = classified[0], classified[1]
        if (family, canonical, asset) in self.seen:
            self.duplicates += 1
            return
        self.seen.add((family, canonical, asset))
        chain, notes = chain_for(classified, asset)
        self.entries.append(ListEntry(listed, asset, family, canonical, chain, notes))
        self.by_family[family.value] += 1
        self.by_asset[asset or "-"] += 1
        self.notes.update(notes)
        if family is Family.OTHER:
            self.unrecognised.append(listed)
        if "ASSET_LABEL_MISMATCH" in notes:
            self.mismatches.append((asset or "-", listed))

    def finish(
        self, name: str, version: str | None, disagreements: tuple[str, ...] = (), upstream: str | None = None
    ) -> AddressList:
        if not self.entries:
            # A list that yields nothing is far likelier a truncated download than a real empty list, and
            # screening against it would answer "not listed" for everything.
            raise InputError("LIST_EMPTY", list=name, files=", ".join(self.files))
        digest = _combined_digest(self.file_digests)
        source = ListSource(name, version or f"sha256:{digest[:16]}", digest)
        report = LoadReport(
            source=source,
            files=tuple(self.files),
            entries=len(self.entries),
            by_family=dict(sorted(self.by_family.items())),
            by_asset=dict(sorted(self.by_asset.items())),
            notes=dict(sorted(self.notes.items())),
            unrecognised=tuple(self.unrecognised),
            label_mismatches=tuple(self.mismatches),
            duplicates=self.duplicates,
            format_disagreements=disagreements,
            skipped_lines=self.skipped,
            upstream_sha256=upstream,
        )
        return AddressList(source, tuple(self.entries), report)


def _combined_digest(file_digests: list[tuple[str, str]]) -> str:
    """One file: its SHA-256. Several: the SHA-256 of ``sha256sum``'s output for them in name order, so that
    ``LC_ALL=C sha256sum sanctioned_addresses_* | sha256sum`` in the snapshot's folder gives the same value."""
    if len(file_digests) == 1:
        return file_digests[0][1]
    listing = "".join(f"{digest}  {name}\n" for name, digest in sorted(file_digests))
    return hashlib.sha256(listing.encode("utf-8", "surrogateescape")).hexdigest()


def _text(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError("INPUT_UNREADABLE", source=str(path), reason=f"not UTF-8 text: {exc.reason}") from exc


def _lines(raw: bytes, path: Path) -> list[str]:
    return _text(raw, path).splitlines()


def _json_texts(raw: bytes, path: Path) -> list[str]:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError("INPUT_UNREADABLE", source=str(path), reason=f"not JSON: {exc}") from exc
    if not isinstance(document, list) or not all(isinstance(item, str) for item in document):
        raise InputError("RECORD_SHAPE_INVALID", reason=f"{path.name} must be a JSON array of address strings")
    return document


def _upstream_digest(folder: Path) -> str | None:
    try:
        text = (folder / "sdn_advanced_checksum.txt").read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # optional provenance: its absence is not an error
    match = _UPSTREAM.search(text)
    return match.group(1).lower() if match else None


# A snapshot folder is complete only if it holds, not empty, a file for each of these assets (.txt or .json): a
# folder still being written or cut short must not replace a complete older snapshot.
REQUIRED_OFAC_ASSETS = ("ETH", "XBT")
_SNAPSHOT = re.compile(r"ofac_sdn_(\d{4}-\d{2}-\d{2})")


def missing_ofac_assets(folder: str | Path) -> tuple[str, ...]:
    """The :data:`REQUIRED_OFAC_ASSETS` for which ``folder`` holds no non-empty ``.txt`` or ``.json`` file."""
    base = Path(folder)

    def present(asset: str) -> bool:
        for suffix in ("txt", "json"):
            candidate = base / f"sanctioned_addresses_{asset}.{suffix}"
            try:
                if candidate.is_file() and candidate.stat().st_size > 0:
                    return True
            except OSError:
                continue
        return False

    return tuple(asset for asset in REQUIRED_OFAC_ASSETS if not present(asset))


def newest_complete_ofac_directory(intel_dir: str | Path) -> tuple[Path | None, tuple[tuple[str, str], ...]]:
    """The newest complete ``ofac_sdn_<YYYY-MM-DD>`` snapshot under a data directory, and the folders passed over.

    Snapshots are ordered by the date in their name. A newer folder that lacks a required asset file is passed over
    for the newest complete one, and so is an ``ofac_sdn_*`` folder whose name holds no valid date (it cannot be
    ordered); each passed-over folder comes back with the reason, for the load report. ``None`` when no snapshot
    is complete; the folders are then all in the second item.
    """
    try:
        folders = sorted(p for p in Path(intel_dir).iterdir() if p.is_dir() and p.name.startswith("ofac_sdn_"))
    except OSError as exc:
        raise InputError("INPUT_UNREADABLE", source=str(intel_dir), reason=exc.strerror or str(exc)) from exc
    dated: list[tuple[date, Path]] = []
    skipped: list[tuple[str, str]] = []
    for folder in folders:
        named = _SNAPSHOT.fullmatch(folder.name)
        day = _iso_date(named.group(1)) if named else None
        if day is None:
            skipped.append((folder.name, "no YYYY-MM-DD date in the folder's name: cannot be ordered"))
        else:
            dated.append((day, folder))
    for _, folder in sorted(dated, reverse=True):
        missing = missing_ofac_assets(folder)
        if not missing:
            return folder, tuple(skipped)
        files = " and ".join(f"sanctioned_addresses_{asset}.txt/.json" for asset in missing)
        skipped.append((folder.name, f"incomplete: no {files} (or empty)"))
    return None, tuple(skipped)


def latest_ofac_directory(intel_dir: str | Path) -> Path | None:
    """The newest complete ``ofac_sdn_<date>`` snapshot under a data directory (see
    :func:`newest_complete_ofac_directory`), or ``None``."""
    return newest_complete_ofac_directory(intel_dir)[0]


def with_skipped_snapshots(address_list: AddressList, skipped: tuple[tuple[str, str], ...]) -> AddressList:
    """``address_list`` whose load report also names the snapshot folders passed over for it."""
    report = replace(address_list.report, skipped_snapshots=skipped)
    return replace(address_list, report=report)


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def check_replacement(current: ListSource, new: ListSource, *, explicit: bool, origin: str) -> None:
    """Raise ``LIST_VERSION_OLDER`` unless ``new`` may replace ``current`` (a list of the same name).

    Identical lists always may. When both versions are ISO dates (OFAC snapshots, the FBI CSV's publication date)
    they are compared as dates: an older one is always refused, a newer one always accepted, and the same date
    with other contents only when the new list was named explicitly. Versions that are not both dates (digests of
    files) cannot be ordered, so any different one is refused unless the new list was named explicitly on the
    command line (``explicit``: ``--ofac``, ``--fbi``, ``--list``; not ``--intel``, which picks its lists itself).
    ``origin`` names where the new list came from, for the message.
    """
    if (current.version, current.sha256) == (new.version, new.sha256):
        return
    old_day, new_day = _iso_date(current.version), _iso_date(new.version)
    if old_day is not None and new_day is not None:
        allowed = new_day > old_day or (new_day == old_day and explicit)
    else:
        allowed = explicit
    if not allowed:
        raise InputError(
            "LIST_VERSION_OLDER",
            list=current.name,
            current_version=current.version,
            new_version=new.version,
            source=origin,
        )


def find_fbi_lists(intel_dir: str | Path) -> tuple[Path, ...]:
    """The FBI lists under a data directory: each ``fbi_*`` folder's ``eth_addresses.csv`` (it carries the PSA's
    date), else its ``eth_addresses.txt``."""
    try:
        folders = sorted(p for p in Path(intel_dir).iterdir() if p.is_dir() and p.name.startswith("fbi_"))
    except OSError as exc:
        raise InputError("INPUT_UNREADABLE", source=str(intel_dir), reason=exc.strerror or str(exc)) from exc
    found = []
    for folder in folders:
        for candidate in (folder / "eth_addresses.csv", folder / "eth_addresses.txt"):
            if candidate.is_file():
                found.append(candidate)
                break
    return tuple(found)


def list_name_for(folder: Path) -> str:
    """``fbi_psa250226_bybit`` → ``fbi-psa250226-bybit``: list names use hyphens."""
    return folder.name.lower().replace("_", "-")


__all__ = [
    "REQUIRED_OFAC_ASSETS",
    "AddressList",
    "ListEntry",
    "ListSource",
    "LoadReport",
    "check_replacement",
    "find_fbi_lists",
    "latest_ofac_directory",
    "list_name_for",
    "load_address_file",
    "load_fbi_list",
    "load_ofac_directory",
    "missing_ofac_assets",
    "newest_complete_ofac_directory",
    "with_skipped_snapshots",
]
