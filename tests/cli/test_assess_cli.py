"""``mamori assess start|answer|evidence|remediation|score|gaps|lock|verify|trend``: an organisation's year from the
command line alone, on a fresh SQLite database (the commands migrate it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import yaml
from pypdf import PdfReader
from typer.testing import CliRunner

from mamori.cli.main import app
from mamori.errors import MamoriError
from support.banks import SCORING_BANK

runner = CliRunner()


def run(*args: str) -> Any:
    result = runner.invoke(app, ["assess", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result


def refused(*args: str) -> MamoriError:
    """The error a command stops with (``mamori`` prints it in both languages and exits 2: cli/main.py)."""
    result = runner.invoke(app, ["assess", *args])
    assert isinstance(result.exception, MamoriError), result.output
    return result.exception


def test_a_year_from_start_to_sign_off(tmp_path: Path) -> None:
    bank = tmp_path / "bank.yaml"
    bank.write_text(SCORING_BANK, encoding="utf-8")
    target = tmp_path / "target.yaml"
    target.write_text(yaml.safe_dump({"basic": 0.75}), encoding="utf-8")
    db = ("--database", f"sqlite:///{tmp_path / 'mamori.db'}")
    kenji, mina = ("--as", "kenji"), ("--as", "mina")
    names = ("--name-en", "Mirai Exchange", "--name-ja", "株式会社みらい暗号資産取引所")
    run("start", "mirai", "2025", *names, "--bank", str(bank), *db, *kenji)
    started = orjson.loads(
        run(
            "start", "mirai", "2026", *names, "--bank", str(bank), "--target", str(target), *db, *kenji, "--json"
        ).stdout
    )
    assert started["framework"]["id"] == "scoring-bank"
    run("answer", "mirai/2026", "PROFILE.signing", "multisig,mpc", *db, *kenji)
    for question, value in (
        ("GV-1", "yes"),
        ("GV-2", "3"),
        ("CX-1", "two"),
        ("CX-2", "decode,simulate"),
        ("CX-3", "partial"),
    ):
        run("answer", "mirai/2026", question, value, "--documentation", "partial", *db, *kenji)
    run("answer", "mirai/2025", "GV-1", "no", *db, *kenji)
    bad = refused("answer", "mirai/2026", "GV-1", "maybe", *db, *kenji)
    assert bad.code == "ANSWER_INVALID" and "yes, partial, no, na" in bad.message_en
    evidence = tmp_path / "minutes.pdf"
    evidence.write_bytes(b"%PDF-1.7 minutes")
    added = orjson.loads(
        run(
            "evidence",
            "add",
            "mirai/2026",
            "GV-1",
            str(evidence),
            "--effective",
            "2026-04-01",
            "--expires",
            "2027-03-31",
            *db,
            *kenji,
            "--json",
        ).stdout
    )
    assert len(added["sha256"]) == 64
    run(
        "remediation",
        "add",
        "mirai/2026",
        "--title",
        "二人目の従業員承認者",
        "--owner",
        "treasury",
        "--due",
        "2026-09-30",
        "--question",
        "CX-4",
        *db,
        *kenji,
    )
    score = orjson.loads(run("score", "mirai/2026", *db, "--json").stdout)
    assert score["framework"] == {"id": "scoring-bank", "version": "1"} and score["year"] == 2026
    assert score["scorecard"]["sections"]["GV"]["documentation"] == 50.0
    gaps = orjson.loads(run("gaps", "mirai/2026", *db, "--json").stdout)
    assert [g["question"] for g in gaps][:2] == ["CX-1", "CX-4"]  # 0.6 < the 0.75 target; CX-4: no guard here
    trend = orjson.loads(run("trend", "mirai/2026", *db, "--json").stdout)
    assert [c["question"] for c in trend["improved"]] == ["GV-1", "GV-2", "CX-1", "CX-2", "CX-3"]  # 2025: blanks
    assert refused("lock", "mirai/2026", *db, *kenji).code == "ASSESSMENT_REVIEWER_CONFLICT"  # kenji answered
    locked = orjson.loads(run("lock", "mirai/2026", *db, *mina, "--note", "確認済み", "--json").stdout)
    assert run("verify", "mirai/2026", *db, "--json").stdout.strip().endswith("}")
    assert orjson.loads(run("verify", "mirai/2026", *db, "--json").stdout)["digest"] == locked["digest"]
    locked_error = refused("answer", "mirai/2026", "GV-1", "no", *db, *kenji)
    assert locked_error.code == "ASSESSMENT_LOCKED" and "承認・確定済み" in locked_error.message_ja
    shown = run("show", "mirai/2026", *db)
    assert "株式会社みらい暗号資産取引所" in shown.stdout and "locked" in shown.stdout
    for language in ("ja", "en"):
        report = tmp_path / f"report-{language}.pdf"
        run("report", "mirai/2026", "--language", language, "-o", str(report), *db)
        text = "".join(page.extract_text() for page in PdfReader(report).pages)
        assert "株式会社みらい暗号資産取引所" in text
    listed = run("list", *db)
    assert "mirai/2025" in listed.stdout and "mirai/2026" in listed.stdout


def test_the_workbook_round_trip_through_the_commands(tmp_path: Path) -> None:
    import io

    from openpyxl import load_workbook

    bank = tmp_path / "bank.yaml"
    bank.write_text(SCORING_BANK, encoding="utf-8")
    db = ("--database", f"sqlite:///{tmp_path / 'mamori.db'}")
    names = ("--name-en", "Mirai Exchange", "--name-ja", "株式会社みらい暗号資産取引所")
    run("start", "mirai", "2026", *names, "--bank", str(bank), *db, "--as", "kenji")
    run("answer", "mirai/2026", "GV-1", "partial", "--documentation", "no", *db, "--as", "kenji")
    sheet_file = tmp_path / "mirai-2026.xlsx"
    run("export", "mirai/2026", "-o", str(sheet_file), *db)
    unchanged = orjson.loads(run("import", "mirai/2026", str(sheet_file), *db, "--as", "aiko", "--json").stdout)
    assert unchanged == {"read": 1, "changed": 0}
    book = load_workbook(io.BytesIO(sheet_file.read_bytes()))
    rows = {book["Questions"][f"A{r}"].value: r for r in range(2, book["Questions"].max_row + 1)}
    book["Questions"][f"I{rows['GV-1']}"] = "はい"
    book["Questions"][f"J{rows['GV-1']}"] = "文書化済"
    book["Questions"][f"I{rows['CX-1']}"] = "four"  # not a choice
    book["Questions"][f"I{rows['GV-2']}"] = 7  # not a maturity level
    book.save(sheet_file)
    error = refused("import", "mirai/2026", str(sheet_file), *db, "--as", "aiko")
    assert error.code == "SHEET_INVALID"
    problems = error.to_dict()["error"]["problems"]
    assert [p["at"] for p in problems] == [f"Questions!I{rows['GV-2']}", f"Questions!I{rows['CX-1']}"]
    shown = orjson.loads(run("show", "mirai/2026", *db, "--json").stdout)
    assert shown["answers"]["GV-1"]["value"] == "partial"  # nothing of the bad workbook was imported
    book["Questions"][f"I{rows['CX-1']}"] = "three"
    book["Questions"][f"I{rows['GV-2']}"] = 2
    book.save(sheet_file)
    changed = orjson.loads(run("import", "mirai/2026", str(sheet_file), *db, "--as", "aiko", "--json").stdout)
    assert changed == {"read": 3, "changed": 3}
    answers = orjson.loads(run("show", "mirai/2026", *db, "--json").stdout)["answers"]
    assert (answers["GV-1"]["value"], answers["GV-1"]["documentation"], answers["GV-1"]["source"]) == (
        "yes", "yes", "import"
    )  # fmt: skip
    assert answers["GV-2"]["value"] == "2" and answers["CX-1"]["value"] == "three"
