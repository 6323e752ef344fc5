"""``mamori screen ADDRESS…``: is an address on a sanctions or incident list? Every hit with its provenance.

Exit codes: 0 no address is listed; 1 at least one is (do not send to it); 2 bad input or usage (the error, with
its code, goes to stderr and nothing is printed on stdout as if it were a result).

Lists come from files (``--ofac``, ``--fbi``, ``--list``, or ``--intel`` for a whole data folder) or from a saved
index (``--index``). When two sources give a list of the same name, the later one replaces the earlier one, in
the order --index, --intel, --ofac, --fbi, --list: a newer OFAC snapshot replaces, and so revokes, an older one.
A replacement that could be older is refused (``LIST_VERSION_OLDER``, exit 2): versions that are both ISO dates
are compared as dates and an older one is refused; other different versions are accepted only from a list named
explicitly (--ofac, --fbi, --list), never from one --intel picked (:func:`mamori.intel.lists.check_replacement`).
--intel takes the newest *complete* snapshot (ETH and XBT files present), saying which newer ones it passed over.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from mamori.cli.batch import run_batch
from mamori.cli.io import parse_json, write_error
from mamori.errors import InputError, MamoriError

if TYPE_CHECKING:
    from rich.console import Console

    from mamori.intel.screening import ScreeningIndex

EXIT_OK, EXIT_LISTED, EXIT_BAD_INPUT = 0, 1, 2

ListOption = Annotated[
    list[str] | None,
    typer.Option("--list", help="NAME=PATH of a list: one address per line, a JSON array, or CSV. Repeatable."),
]
OfacOption = Annotated[
    Path | None, typer.Option("--ofac", help="An OFAC snapshot folder of sanctioned_addresses_<ASSET>.txt/.json.")
]
FbiOption = Annotated[Path | None, typer.Option("--fbi", help="The FBI's Bybit list: eth_addresses.txt or .csv.")]
IntelOption = Annotated[
    Path | None,
    typer.Option(
        "--intel",
        envvar="MAMORI_INTEL_DIR",
        help="A data folder: its newest complete ofac_sdn_<date> snapshot (ETH and XBT files present) and every "
        "fbi_* list in it.",
    ),
]
IndexOption = Annotated[Path | None, typer.Option("--index", help="A screening index saved with --save-index.")]
SaveOption = Annotated[Path | None, typer.Option("--save-index", help="Save the index built from the lists to FILE.")]
ChainOption = Annotated[
    str | None,
    typer.Option("--chain", help="Asset label or chain of the addresses (ETH, XBT, tron …); never changes a match."),
]
BatchOption = Annotated[
    Path | None,
    typer.Option(
        "--batch", help="JSON Lines: an address (or {'address', 'chain'}) per line in, a result per line out."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the results as JSON.")]
LangOption = Annotated[str, typer.Option("--lang", help="Language of the human view: en, ja or both.")]
AddressArgument = Annotated[
    list[str] | None, typer.Argument(help="Addresses to screen, of any chain; - reads one per line from stdin.")
]


def screen_command(
    addresses: AddressArgument = None,
    lists: ListOption = None,
    ofac: OfacOption = None,
    fbi: FbiOption = None,
    intel: IntelOption = None,
    index: IndexOption = None,
    save_index: SaveOption = None,
    chain: ChainOption = None,
    batch: BatchOption = None,
    as_json: JsonOption = False,
    lang: LangOption = "both",
) -> None:
    """Screen addresses against sanctions and incident lists (OFAC SDN, FBI): each hit with list, version, asset."""
    try:
        code = _run(addresses or [], lists or [], ofac, fbi, intel, index, save_index, chain, batch, as_json, lang)
    except MamoriError as exc:
        # Caught here, not only in main(), so that the command behaves the same however it is invoked.
        write_error(exc, as_json=as_json)
        code = EXIT_BAD_INPUT
    raise typer.Exit(code)


def _run(
    addresses: list[str],
    lists: list[str],
    ofac: Path | None,
    fbi: Path | None,
    intel: Path | None,
    index_file: Path | None,
    save_index: Path | None,
    chain: str | None,
    batch: Path | None,
    as_json: bool,
    lang: str,
) -> int:
    if lang not in ("en", "ja", "both"):
        raise InputError("USAGE_INVALID", reason="--lang must be en, ja or both")
    if batch is not None and addresses:
        raise InputError("USAGE_INVALID", reason="--batch takes no address arguments")
    if batch is None and not addresses and save_index is None:
        raise InputError("USAGE_INVALID", reason="give addresses to screen, - for stdin, or --batch FILE")
    index, reports = load_screening_index(lists, ofac, fbi, intel, index_file)
    if save_index is not None:
        index.save(save_index)
    if batch is not None:
        return run_batch(str(batch), lambda line: _screen_line(index, line, chain))
    if addresses == ["-"]:
        addresses = [line for line in sys.stdin.read().splitlines() if line.strip()]
    # Screen everything before printing anything: a bad address must not leave half a report on stdout.
    results = [index.screen(address, chain).to_json() for address in addresses]
    if as_json:
        document = {"count": len(results), "lists": _lists_json(index, reports), "results": results}
        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    else:  # with no address (only --save-index), the table of lists says what was saved
        _render(results, _lists_json(index, reports), reports, lang)
    return EXIT_LISTED if any(result["hits"] for result in results) else EXIT_OK


def load_screening_index(
    lists: list[str], ofac: Path | None, fbi: Path | None, intel: Path | None, index_file: Path | None
) -> tuple[ScreeningIndex, dict[str, dict[str, Any]]]:
    """The index to screen against, and the load report of each list read from files (by list name).

    Raises ``LIST_VERSION_OLDER`` where a later source would replace a list with one that could be older."""
    from mamori.intel import lists as loaders
    from mamori.intel.screening import ScreeningIndex

    # (list, named explicitly on the command line, where it came from)
    loaded: list[tuple[loaders.AddressList, bool, str]] = []
    if intel is not None:
        snapshot, skipped = loaders.newest_complete_ofac_directory(intel)
        if snapshot is not None:
            found = loaders.load_ofac_directory(snapshot)
            loaded.append((loaders.with_skipped_snapshots(found, skipped), False, f"--intel {snapshot}"))
        elif skipped:
            # Screening without the OFAC list would answer "not listed" for every sanctioned address.
            folders = "; ".join(f"{name}: {why}" for name, why in skipped)
            raise InputError("USAGE_INVALID", reason=f"{intel} holds no complete ofac_sdn_<date> snapshot ({folders})")
        loaded.extend(
            (loaders.load_fbi_list(path, name=loaders.list_name_for(path.parent)), False, f"--intel {path}")
            for path in loaders.find_fbi_lists(intel)
        )
        if not loaded:
            raise InputError("USAGE_INVALID", reason=f"{intel} holds no ofac_sdn_<date> or fbi_* list folder")
    if ofac is not None:
        loaded.append((loaders.load_ofac_directory(ofac), True, f"--ofac {ofac}"))
    if fbi is not None:
        loaded.append((loaders.load_fbi_list(fbi), True, f"--fbi {fbi}"))
    for item in lists:
        name, separator, path = item.partition("=")
        if not separator or not name.strip() or not path.strip():
            raise InputError("USAGE_INVALID", reason=f"--list takes NAME=PATH, not {item!r}")
        loaded.append((loaders.load_address_file(path.strip(), name=name.strip()), True, f"--list {item}"))
    if index_file is None and not loaded:
        raise InputError("SCREENING_LIST_REQUIRED")
    index = ScreeningIndex.load(index_file) if index_file is not None else ScreeningIndex()
    for address_list, explicit, origin in loaded:
        current = {source.name: source for source in index.lists}.get(address_list.source.name)
        if current is not None:
            loaders.check_replacement(current, address_list.source, explicit=explicit, origin=origin)
        index = index.with_list(address_list)
    reports = {item.source.name: item.report.to_json() for item, _, _ in loaded}
    return index, reports


def _lists_json(index: ScreeningIndex, reports: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": source.name,
            "version": source.version,
            "sha256": source.sha256,
            "entries": index.count(source.name),
            # --intel: the newer or undated snapshot folders passed over for this one, with why
            "skipped_snapshots": reports.get(source.name, {}).get("skipped_snapshots", []),
        }
        for source in index.lists
    ]


def _screen_line(index: ScreeningIndex, line: bytes, chain: str | None) -> dict[str, Any]:
    """A batch line: a JSON string, a JSON object with ``address`` (and ``chain`` or ``asset``), or bare text."""
    text = line.strip()
    hint = chain
    if text[:1] in (b'"', b"{"):
        item = parse_json(text)
        if isinstance(item, dict):
            hint = item.get("chain") or item.get("asset") or chain
            item = item.get("address")
        if not isinstance(item, str) or (hint is not None and not isinstance(hint, str)):
            raise InputError("RECORD_SHAPE_INVALID", reason="a batch line is an address string or {'address': …}")
        address = item
    else:
        address = text.decode("utf-8", errors="replace")
    return index.screen(address, hint).to_json()


# --- human view ------------------------------------------------------------------------------------------------


def _pick(en: str, ja: str, lang: str) -> str:
    return {"en": en, "ja": ja}.get(lang, f"{en} / {ja}")


def _render(
    results: list[dict[str, Any]], lists: list[dict[str, Any]], reports: dict[str, dict[str, Any]], lang: str
) -> None:
    from rich.console import Console

    # Wide enough for full addresses when written to a file or a pipe.
    console = Console(width=None if sys.stdout.isatty() else 160)
    for result in results:
        _render_result(console, result, lang)
    _render_lists(console, lists, reports, lang)


def _render_result(console: Console, result: dict[str, Any], lang: str) -> None:
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    if result["hits"]:
        verdict = Text(_pick("LISTED: do not send", "掲載あり: 送金しないでください", lang), style="bold white on red")
    else:
        verdict = Text(_pick("not listed", "掲載なし", lang), style="bold white on green")
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row(_pick("verdict", "判定", lang), verdict)
    head.add_row(_pick("family", "形式", lang), f"{result['family']} ({result['chain']})")
    head.add_row(_pick("normalised", "正規化", lang), result["normalised"])
    for note in result["notes"]:
        message = note["message"]
        text = message["en"] if lang == "en" else message["ja"] if lang == "ja" else f"{message['en']}\n{message['ja']}"
        head.add_row(Text(note["code"], style="yellow"), text)
    parts: list[Any] = [head]
    if result["hits"]:
        hits = Table(expand=True)
        for column in (("list", "リスト"), ("version", "版"), ("asset", "資産"), ("listed as", "掲載表記")):
            hits.add_column(_pick(*column, lang), overflow="fold")
        for hit in result["hits"]:
            hits.add_row(hit["list"], hit["version"], hit["asset"] or "-", hit["listed_as"])
        parts.append(hits)
    from rich.console import Group

    console.print(Panel(Group(*parts), title=result["address"], title_align="left"))


def _render_lists(console: Console, lists: list[dict[str, Any]], reports: dict[str, dict[str, Any]], lang: str) -> None:
    from rich.table import Table

    table = Table(title=_pick("lists screened against", "照合したリスト", lang), expand=True)
    for column in (("list", "リスト"), ("version", "版"), ("entries", "件数"), ("load notes", "読み込み時の注意")):
        table.add_column(_pick(*column, lang), overflow="fold")
    for item in lists:
        report = reports.get(item["name"], {})
        remarks = []
        if report.get("unrecognised"):
            count = len(report["unrecognised"])
            remarks.append(
                _pick(
                    f"{count} kept as exact text (form not recognised)",
                    f"{count} 件は形式不明のため完全一致で照合",
                    lang,
                )
            )
        if report.get("label_mismatches"):
            count = len(report["label_mismatches"])
            remarks.append(
                _pick(
                    f"{count} whose form is another chain than the asset label",
                    f"{count} 件は資産ラベルと異なるチェーンの形式",
                    lang,
                )
            )
        for folder in report.get("skipped_snapshots", []):
            remarks.append(
                _pick(
                    f"snapshot folder {folder['folder']} passed over: {folder['reason']}",
                    f"スナップショット {folder['folder']} は使用しませんでした: {folder['reason']}",
                    lang,
                )
            )
        table.add_row(item["name"], item["version"], f"{item['entries']:,}", "\n".join(remarks))
    console.print(table)


__all__ = ["EXIT_BAD_INPUT", "EXIT_LISTED", "EXIT_OK", "screen_command"]
