"""``mamori assess benchmark …``: the anonymised industry benchmark (docs/assess-benchmark.md).

A member ``submit``s its scores to the hub and ``fetch``es its own result; the hub's operator ``publish``es the
results from the hub's database and looks at the ``groups`` (counts only). Secrets come from the environment, as
for ``mamori intel sync``. The commands are plain functions; :data:`app` registers them for ``mamori assess``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from mamori.cli.audit import DatabaseOption, JsonOption, connect
from mamori.cli.intel_sync import PasswordOption, RemoteArgument, TimeoutOption, TokenOption, UserOption

if TYPE_CHECKING:
    from mamori.assess.benchmark import PublishedBenchmark
    from mamori.service.assess_benchmark import PublishReport

SubmissionsOption = Annotated[str, typer.Option("--submissions", help="The hub's submissions collection (its id).")]
MinimumOption = Annotated[
    int, typer.Option("--minimum", min=5, help="Organisations a group needs before anything of it is shown (5+).")
]
FrameworkOption = Annotated[str | None, typer.Option("--framework", help="Only this question bank (its id).")]
YearOption = Annotated[int | None, typer.Option("--year", min=2000, max=2100, help="Only this year.")]
_LEVELS = {"basic": "基本的な対応事項", "advanced": "対応が望ましい事項"}


def _now_us() -> int:
    from mamori.service.facts import to_us

    return to_us(datetime.now(UTC))


def _print_json(document: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(document) + b"\n")


def submit_command(
    remote: RemoteArgument,
    scores: Annotated[
        str, typer.Option("--scores", help="The scores file: {framework: {id, version}, year, scorecard} ('-': stdin).")
    ],
    collection: Annotated[
        str | None, typer.Option("--collection", help="The hub's submissions collection: its id or its URL.")
    ] = None,
    token: TokenOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    timeout: TimeoutOption = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Send this exchange's scores to the hub's benchmark: one implementation percentage per group, nothing else.

    Exit 0 when the hub took the submission, 1 when it refused it, 2 when the file is invalid or the hub cannot be
    reached or refuses the credentials."""
    from mamori.assess.benchmark import parse_score_report
    from mamori.cli.io import read_json
    from mamori.service.assess_benchmark import submit
    from mamori.service.taxii_remote import Credentials, Taxii2Source, collection_url

    report = parse_score_report(read_json(scores))  # checked before anything is sent
    url = collection_url(remote, collection)
    with Taxii2Source(url, Credentials(token, user, password), timeout=timeout) as target:
        sent = submit(target, report, now_us=_now_us())
    if as_json:
        _print_json({"collection": url, **sent.to_json()})
    else:
        cohort = report.cohort
        outcome = "refused / 拒否されました" if sent.refused else "taken / 受理されました"
        typer.echo(
            f"{cohort.framework_id} {cohort.framework_version} {cohort.year}: {len(report.scores)} score(s) sent to"
            f" {url}: {outcome} (スコア {len(report.scores)} 件を送信)"
        )
        for failure in sent.status.get("failures") or []:
            typer.echo(f"  {failure.get('message', failure)}")
    if sent.refused:
        raise typer.Exit(1)


def fetch_command(
    remote: RemoteArgument,
    collection: Annotated[
        str | None, typer.Option("--collection", help="The hub's results collection: its id or its URL.")
    ] = None,
    framework: FrameworkOption = None,
    year: YearOption = None,
    token: TokenOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    timeout: TimeoutOption = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Print this exchange's latest benchmark result per question bank and year: its percentile and deviation
    score in each group of at least five organisations.

    Exit 0 with a result, 1 when the hub has published none for this account yet, 2 when the hub cannot be reached,
    refuses the credentials or sends a result that cannot be read."""
    from mamori.service.assess_benchmark import fetch
    from mamori.service.taxii_remote import Credentials, Taxii2Source, collection_url

    url = collection_url(remote, collection)
    with Taxii2Source(url, Credentials(token, user, password), timeout=timeout) as source:
        results = fetch(source, framework_id=framework, year=year)
    if as_json:
        _print_json({"collection": url, "results": [result.to_json() for result in results]})
    else:
        for result in results:
            _print_result(result)
        if not results:
            typer.echo("no benchmark result published for this account yet / ベンチマーク結果はまだ公開されていません")
    if not results:
        raise typer.Exit(1)


def publish_command(
    submissions: SubmissionsOption,
    results: Annotated[str, typer.Option("--results", help="The hub's results collection (its id).")],
    minimum: MinimumOption = 5,
    framework: FrameworkOption = None,
    year: YearOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """(Hub operator) compute every member's result from its latest submission and publish each to that member
    alone; print the counts per group (never a value)."""
    from mamori.service.assess_benchmark import publish

    with connect(database) as connection:
        report = publish(connection, submissions=submissions, results=results, now_us=_now_us(), minimum=minimum,
                         framework_id=framework, year=year)  # fmt: skip
    if as_json:
        _print_json(report.to_json())
        return
    typer.echo(f"{report.results} result(s) published / 結果を {report.results} 件公開しました")
    _print_counts(report)


def groups_command(
    submissions: SubmissionsOption,
    minimum: MinimumOption = 5,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """(Hub operator) how many organisations each group has, and which groups a result would show; no value."""
    from mamori.service.assess_benchmark import groups

    with connect(database) as connection:
        report = groups(connection, submissions=submissions, minimum=minimum)
    if as_json:
        _print_json(report.to_json())
        return
    _print_counts(report)


def _label(key: str) -> str:
    kind, _, name = key.partition(":")
    if kind == "overall":
        return "overall / 総合"
    if kind == "section":
        return f"section {name} / 分野 {name}"
    if kind == "csf":
        return f"CSF 2.0 {name} / CSF 機能 {name}"
    if kind == "guideline":
        return f"guideline §{name} / ガイドライン §{name}"
    return f"level {name} / {_LEVELS.get(name, name)}"


def _print_result(result: PublishedBenchmark) -> None:
    from rich.console import Console
    from rich.table import Column, Table

    cohort = result.cohort
    typer.echo(
        f"{cohort.framework_id} {cohort.framework_version}, {cohort.year}: published {result.to_json()['published']}"
        f" / {cohort.year} 年度ベンチマーク（{result.minimum} 組織以上の区分のみ表示）"
    )
    numbers = ("score / スコア", "organisations / 組織数", "percentile / パーセンタイル", "deviation / 偏差値")
    table = Table("group / 区分", *(Column(name, justify="right") for name in numbers))
    for standing in result.standings:
        table.add_row(_label(standing.key), f"{standing.score / 100:.2f}", str(standing.organisations),
                      f"{standing.percentile:.1f}", f"{standing.deviation:.1f}")  # fmt: skip
    if result.standings:
        Console(width=None if sys.stdout.isatty() else 160).print(table)
    else:
        typer.echo(f"no group has {result.minimum} organisations yet / {result.minimum} 組織以上の区分はまだありません")
    if result.withheld:
        typer.echo(
            f"withheld (fewer than {result.minimum} organisations) / 非表示（{result.minimum} 組織未満）: "
            + ", ".join(result.withheld)
        )


def _print_counts(report: PublishReport) -> None:
    for count in report.cohorts:
        cohort = count.cohort
        shown = sum(1 for n in count.keys.values() if n >= count.minimum)
        typer.echo(
            f"{cohort.framework_id} {cohort.framework_version} {cohort.year}: {count.organisations} organisation(s),"
            f" {shown} of {len(count.keys)} group(s) shown / 参加 {count.organisations} 組織、"
            f"表示 {shown}/{len(count.keys)} 区分"
        )
        for key, n in count.keys.items():
            typer.echo(f"  {key}: {n}{'' if n >= count.minimum else ' (withheld / 非表示)'}")
    for item in report.ignored:
        typer.echo(f"ignored / 無視 {item.reference} ({item.organisation}): {item.reason}")


app = typer.Typer(help="The anonymised industry benchmark: submit scores, fetch your standing; publish (hub).",
                  no_args_is_help=True)  # fmt: skip
app.command("submit")(submit_command)
app.command("fetch")(fetch_command)
app.command("publish")(publish_command)
app.command("groups")(groups_command)
