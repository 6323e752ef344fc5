"""Coverage of a bank (assess/coverage.py) and the ``mamori assess`` commands on the test bank and the shipped one."""

from __future__ import annotations

from pathlib import Path

import orjson
import yaml
from typer.testing import CliRunner

from mamori.assess.coverage import coverage
from mamori.assess.framework import FrameworkError, csf_subcategories, parse_framework
from mamori.cli.main import app
from support.banks import BANK


def test_coverage_counts_questions_per_function_category_and_section() -> None:
    found = coverage(parse_framework(yaml.safe_load(BANK)), csf_subcategories())
    assert found.questions == 3 and found.by_level == {"basic": 2, "advanced": 1}
    assert found.by_function == {"GV": 2, "ID": 0, "PR": 1, "DE": 0, "RS": 0, "RC": 0}
    assert found.by_category["GV.OV"] == 1 and found.by_category["GV.SC"] == 1 and found.by_category["PR.AA"] == 1
    assert found.by_guideline == {"2.1": 1, "2.2": 0, "2.3": 1, "2.4": 0, "2.5": 0, "2.6": 1}
    assert found.uncovered_guideline == ("2.2", "2.4", "2.5")
    assert "GV.OC" in found.uncovered_categories and "GV.OV" not in found.uncovered_categories
    assert len(found.uncovered_subcategories) == 106 - 3


def test_assess_commands(tmp_path: Path) -> None:
    (tmp_path / "bank.yaml").write_text(BANK, encoding="utf-8")
    runner = CliRunner()
    valid = runner.invoke(app, ["assess", "validate", str(tmp_path / "bank.yaml"), "--json"])
    assert valid.exit_code == 0 and orjson.loads(valid.stdout)["questions"] == 3
    shown = runner.invoke(app, ["assess", "coverage", str(tmp_path / "bank.yaml")])
    assert shown.exit_code == 0 and "§2.6 1" in shown.stdout and "未対応" in shown.stdout
    (tmp_path / "bad.yaml").write_text(BANK.replace("csf: [GV.OV-01]", "csf: [GV.OV-77]"), encoding="utf-8")
    bad = runner.invoke(app, ["assess", "validate", str(tmp_path / "bad.yaml")])
    assert isinstance(bad.exception, FrameworkError)
    assert bad.exception.problems == [
        ("sections[0].questions[0].csf[0]", "'GV.OV-77' is not a NIST CSF 2.0 subcategory")
    ]


def test_the_shipped_bank_is_valid_bilingual_and_has_its_crypto_asset_extension() -> None:
    result = CliRunner().invoke(app, ["assess", "validate", "--json"])
    assert result.exit_code == 0, result.output
    from mamori.assess.framework import load_framework
    from mamori.cli.assess import _bank

    framework = load_framework(_bank(None))
    crypto = [q for q in framework.questions if q.id.startswith("CX")]
    assert len(crypto) >= 40
    assert all(q.csf and q.text.ja and q.text.en for q in framework.questions)
