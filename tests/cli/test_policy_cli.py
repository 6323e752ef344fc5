"""`mamori policy validate` and `mamori policy check` as a user runs them: files, stdin, --json, --batch, exit codes
0 allow / 1 deny or needs approval / 2 bad input. Most cases run the real entry point in process (fast); a few run
it as a separate process to check the exit codes end to end."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mamori.cli.main import main
from mamori.policy.request import SIGNED_FIELDS, signing_payload
from support.sample import LEDGER, SAMPLE_PATH

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = SAMPLE_PATH
VECTORS = ROOT / "tests" / "vectors" / "policy"
BYBIT = ROOT.parent / "shared" / "data" / "safe" / "bybit-safe-tx-71.json"
if not BYBIT.exists():  # the copy shipped in the package, with the same bytes
    BYBIT = ROOT / "src" / "mamori" / "content" / "samples" / "bybit-safe-tx-71.json"


@dataclass
class Result:
    code: int
    stdout: bytes
    stderr: bytes

    def json(self) -> Any:
        return json.loads(self.stdout)


Run = Callable[..., Result]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]) -> Run:
    def run(*args: str, stdin: bytes = b"") -> Result:
        monkeypatch.setattr(sys, "argv", ["mamori", *args])
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        code: Any = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        out, err = capsysbinary.readouterr()
        return Result(0 if code is None else int(code), out, err)

    return run


def vector(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    return document


def request_of(spec: dict[str, Any]) -> dict[str, Any]:
    """A vector's request as the ledger sends it (signed with the demo key, Bybit records substituted)."""
    document = copy.deepcopy(spec)
    how = document.pop("sign", None)
    tamper = document.pop("tamper_after_signing", {})
    if how:
        key_id = how["key_id"] if isinstance(how, dict) else "ledger-2026"
        payload = signing_payload({name: document[name] for name in SIGNED_FIELDS})
        document["signature"] = {"key_id": key_id, "ed25519": LEDGER.sign(payload).hex()}
    document.update(tamper)
    transaction = document.get("transaction")
    if isinstance(transaction, dict) and "record_from" in transaction:
        index = int(transaction.pop("record_from").partition(":")[2])
        transaction["record"] = json.loads(BYBIT.read_text(encoding="utf-8"))["results"][index]
    return document


def files(tmp_path: Path, name: str) -> tuple[Path, Path, str]:
    """request.json and facts.json of a vector, and its --now."""
    item = vector(name)
    request = tmp_path / f"{name}.request.json"
    facts = tmp_path / f"{name}.facts.json"
    request.write_text(json.dumps(request_of(item["request"])), encoding="utf-8")
    facts.write_text(json.dumps(item["facts"]), encoding="utf-8")
    return request, facts, item["now"]


def check(cli: Run, tmp_path: Path, name: str, *extra: str) -> Result:
    request, facts, now = files(tmp_path, name)
    return cli("policy", "check", "--policy", str(SAMPLE), "--facts", str(facts), "--now", now, str(request), *extra)


# --- validate ---------------------------------------------------------------------------------------------------------
def test_validate_the_sample(cli: Run) -> None:
    result = cli("policy", "validate", str(SAMPLE))
    assert result.code == 0, result.stderr
    digest = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert result.stdout.decode() == (
        f"policy sample-exchange is valid / ポリシーは有効です: 3 wallets, 5 rules, 4 limits; sha256 {digest}\n"
    )
    as_json = cli("policy", "validate", str(SAMPLE), "--json")
    assert as_json.code == 0
    assert as_json.json() == {
        "valid": True,
        "id": "sample-exchange",
        "digest": digest,
        "wallets": 3,
        "rules": 5,
        "limits": 4,
    }


def test_validate_reports_every_problem_and_exits_2(cli: Run, tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    broken = text.replace("effect: forbid", "effect: deny").replace("max_percent: 5", "max_percent: 500")
    assert broken != text
    path = tmp_path / "broken.yaml"
    path.write_text(broken, encoding="utf-8")
    result = cli("policy", "validate", str(path), "--json")
    assert result.code == 2
    assert result.stdout == b""
    stderr = result.stderr.decode()
    assert "error POLICY_INVALID" in stderr and "エラー POLICY_INVALID" in stderr
    assert "  rules[4].effect: " in stderr
    assert "  limits[3].max_percent: " in stderr
    error = json.loads(stderr.strip().splitlines()[-1])["error"]
    assert error["code"] == "POLICY_INVALID"
    assert {p["at"] for p in error["problems"]} == {"rules[4].effect", "limits[3].max_percent"}


@pytest.mark.parametrize(
    ("content", "code"), [(None, "INPUT_UNREADABLE"), ("", "POLICY_INVALID"), ("a: [", "POLICY_INVALID")]
)
def test_validate_unusable_files(cli: Run, tmp_path: Path, content: str | None, code: str) -> None:
    path = tmp_path / "policy.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = cli("policy", "validate", str(path))
    assert (result.code, result.stdout) == (2, b"")
    assert f"error {code}".encode() in result.stderr


def test_validate_a_yaml_scalar_that_is_an_impossible_date_exits_2(cli: Run, tmp_path: Path) -> None:
    """Whatever the loader raises (see the xfail in test_parse.py), the user gets exit 2 and no output."""
    path = tmp_path / "policy.yaml"
    path.write_text("policy: 1\nid: x\ntimezone: 2020-13-45\n", encoding="utf-8")
    result = cli("policy", "validate", str(path))
    assert (result.code, result.stdout) == (2, b"")
    assert b"error " in result.stderr


# --- check: decisions and exit codes ----------------------------------------------------------------------------------
def test_check_allow_exits_0(cli: Run, tmp_path: Path) -> None:
    result = check(cli, tmp_path, "hot-routine-eth-allowed", "--json")
    assert result.code == 0, result.stderr
    body = result.json()
    assert body["decision"] == "allow" and body["verdict"] == "ok"
    assert body["request_id"] == "wd-routine"
    assert body["policy"] == {"id": "sample-exchange", "digest": hashlib.sha256(SAMPLE.read_bytes()).hexdigest()}
    assert [(r["code"], r["rule"]) for r in body["reasons"]] == [("PERMITTED", "hot-routine")]
    assert body["required_approvals"] == []


def test_check_deny_exits_1(cli: Run, tmp_path: Path) -> None:
    result = check(cli, tmp_path, "fbi-listed-destination", "--json")
    assert result.code == 1, result.stderr
    body = result.json()
    assert body["decision"] == "deny" and body["verdict"] == "blocked"
    (hit,) = body["reasons"]
    assert hit["code"] == "SCREENING_HIT"
    assert hit["details"]["list"] == "fbi-psa250226-bybit" and hit["details"]["version"] == "2025-02-26"
    assert hit["message"]["en"] and hit["message"]["ja"]


def test_check_needs_approval_exits_1(cli: Run, tmp_path: Path) -> None:
    result = check(cli, tmp_path, "cold-business-hours-needs-two-approvals", "--json")
    assert result.code == 1
    body = result.json()
    assert body["decision"] == "needs_approval" and body["verdict"] == "blocked"
    assert body["required_approvals"] == [
        {
            "source": "cold-two-approvals",
            "count": 2,
            "have": 0,
            "groups": ["security", "treasury"],
            "min_employees": 1,
            "distinct_organisations": True,
        }
    ]


def test_check_the_bybit_transaction_on_the_cold_wallet(cli: Run, tmp_path: Path) -> None:
    result = check(cli, tmp_path, "bybit-executed-delegatecall-cold-wallet", "--json")
    assert result.code == 1
    reasons = result.json()["reasons"]
    assert "DELEGATECALL_UNTRUSTED" in {r["details"].get("finding") for r in reasons if r["code"] == "FINDING_DENIES"}
    assert "TX_NOT_A_TRANSFER" in {r["code"] for r in reasons}


def test_human_output_in_both_languages(cli: Run, tmp_path: Path) -> None:
    allowed = check(cli, tmp_path, "hot-routine-eth-allowed")
    assert allowed.code == 0
    text = allowed.stdout.decode()
    assert "ALLOW / 許可" in text and "request wd-routine" in text and "policy sample-exchange" in text
    assert "Permitted by rule hot-routine." in text and "ルール hot-routine により許可されています。" in text
    denied = check(cli, tmp_path, "fbi-listed-destination").stdout.decode()
    assert "DENY / 拒否" in denied and "SCREENING_HIT" in denied
    pending = check(cli, tmp_path, "cold-business-hours-needs-two-approvals").stdout.decode()
    assert "NEEDS APPROVAL / 承認待ち" in pending
    assert "needs 2 approval(s) for cold-two-approvals (have 0)" in pending


def test_lang_selects_the_messages(cli: Run, tmp_path: Path) -> None:
    english = check(cli, tmp_path, "hot-routine-eth-allowed", "--lang", "en").stdout.decode()
    assert "Permitted by rule hot-routine." in english and "許可されています" not in english
    japanese = check(cli, tmp_path, "hot-routine-eth-allowed", "--lang", "ja").stdout.decode()
    assert "ルール hot-routine により許可されています。" in japanese and "Permitted by rule" not in japanese
    wrong = check(cli, tmp_path, "hot-routine-eth-allowed", "--lang", "fr")
    assert (wrong.code, wrong.stdout) == (2, b"")
    assert b"USAGE_INVALID" in wrong.stderr


def test_request_from_stdin(cli: Run, tmp_path: Path) -> None:
    request, facts, now = files(tmp_path, "hot-routine-eth-allowed")
    result = cli(
        "policy",
        "check",
        "--policy",
        str(SAMPLE),
        "--facts",
        str(facts),
        "--now",
        now,
        "-",
        "--json",
        stdin=request.read_bytes(),
    )
    assert result.code == 0 and result.json()["decision"] == "allow"


def test_now_defaults_to_the_current_time(cli: Run, tmp_path: Path) -> None:
    """Without --now the decision is taken at the current time: a request created a minute ago is fresh, the
    vector's own request (created in March 2026) is too old by now, and approvals dated 2100 do not count yet."""
    from datetime import UTC, datetime, timedelta

    item = vector("hot-routine-eth-allowed")
    fresh_spec = {**item["request"], "created_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}
    fresh = tmp_path / "fresh.json"
    fresh.write_text(json.dumps(request_of(fresh_spec)), encoding="utf-8")
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(item["facts"]), encoding="utf-8")
    result = cli("policy", "check", "--policy", str(SAMPLE), "--facts", str(facts), str(fresh), "--json")
    assert result.code == 0, result.stdout
    old, _, _ = files(tmp_path, "hot-routine-eth-allowed")
    result = cli("policy", "check", "--policy", str(SAMPLE), "--facts", str(facts), str(old), "--json")
    assert "REQUEST_STALE" in {r["code"] for r in result.json()["reasons"]}
    cold_item = vector("cold-two-organisations-with-employee-allowed")
    cold_spec = {**cold_item["request"], "created_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}
    cold = tmp_path / "cold.json"
    cold.write_text(json.dumps(request_of(cold_spec)), encoding="utf-8")
    later = {
        **cold_item["facts"],
        "approvals": [
            {"approver": "aiko", "at": "2100-01-01T00:00:00Z"},
            {"approver": "vera", "at": "2100-01-01T00:00:00Z"},
        ],
    }
    cold_facts = tmp_path / "cold-facts.json"
    cold_facts.write_text(json.dumps(later), encoding="utf-8")
    result = cli("policy", "check", "--policy", str(SAMPLE), "--facts", str(cold_facts), str(cold), "--json")
    assert result.code == 1 and result.json()["decision"] != "allow"


def test_facts_default_to_none(cli: Run, tmp_path: Path) -> None:
    request, _, now = files(tmp_path, "hot-routine-eth-allowed")
    result = cli("policy", "check", "--policy", str(SAMPLE), "--now", now, str(request), "--json")
    assert result.code == 1
    assert {(r["code"], r["rule"]) for r in result.json()["reasons"]} == {
        ("FACT_MISSING", "hot-velocity"),
        ("FACT_MISSING", "hot-daily-eth"),
        ("FACT_MISSING", "screening"),  # nothing says which lists were consulted
    }


# --- check: bad input -------------------------------------------------------------------------------------------------
def bad_input_cases(tmp_path: Path) -> list[tuple[list[str], str]]:
    request, facts, now = files(tmp_path, "hot-routine-eth-allowed")
    document = json.loads(request.read_text(encoding="utf-8"))
    not_json = tmp_path / "not.json"
    not_json.write_text("{request", encoding="utf-8")
    missing = tmp_path / "missing-field.json"
    missing.write_text(json.dumps({k: v for k, v in document.items() if k != "amount"}), encoding="utf-8")
    bad_tx = tmp_path / "bad-tx.json"
    bad_tx.write_text(json.dumps({**document, "transaction": {"kind": "evm", "raw": "0x02zz"}}), encoding="utf-8")
    bad_facts = tmp_path / "bad-facts.json"
    bad_facts.write_text(json.dumps({"balances": [1]}), encoding="utf-8")
    bad_policy = tmp_path / "bad-policy.yaml"
    bad_policy.write_text("policy: 1\n", encoding="utf-8")
    base = ["policy", "check", "--policy", str(SAMPLE), "--facts", str(facts), "--now", now]
    return [
        ([*base, str(not_json)], "JSON_INVALID"),
        ([*base, str(tmp_path / "absent.json")], "INPUT_UNREADABLE"),
        ([*base, str(missing)], "FIELD_MISSING"),
        ([*base, str(bad_tx)], "HEX_INVALID"),
        (
            ["policy", "check", "--policy", str(SAMPLE), "--facts", str(bad_facts), "--now", now, str(request)],
            "FIELD_TYPE_INVALID",
        ),
        (
            ["policy", "check", "--policy", str(SAMPLE), "--now", "2026-03-02T03:00:00", str(request)],
            "FIELD_TYPE_INVALID",
        ),
        (["policy", "check", "--policy", str(bad_policy), "--now", now, str(request)], "POLICY_INVALID"),
        (["policy", "check", "--policy", str(SAMPLE), "--now", now], "USAGE_INVALID"),
        (["policy", "check", "--policy", str(SAMPLE), "--batch", str(request), str(request)], "USAGE_INVALID"),
    ]


def test_bad_input_exits_2_with_a_code_and_prints_nothing(cli: Run, tmp_path: Path) -> None:
    for args, code in bad_input_cases(tmp_path):
        result = cli(*args, "--json")
        assert result.code == 2, (args, result.stdout)
        assert result.stdout == b"", args
        assert f"error {code}:".encode() in result.stderr, (code, result.stderr)
        assert json.loads(result.stderr.decode().strip().splitlines()[-1])["error"]["code"] == code


# --- batch ------------------------------------------------------------------------------------------------------------
def test_batch_one_result_per_line_and_errors_in_place(cli: Run, tmp_path: Path) -> None:
    allowed = vector("hot-routine-eth-allowed")
    denied = vector("fbi-listed-destination")
    lines = [
        json.dumps(request_of(allowed["request"])),  # a bare request: uses the shared --facts
        json.dumps({"request": request_of(denied["request"]), "facts": denied["facts"]}),  # its own facts
        "{not json",
        "",
        json.dumps({"request": {"request_id": "x"}}),
    ]
    batch = tmp_path / "requests.jsonl"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(allowed["facts"]), encoding="utf-8")
    result = cli(
        "policy",
        "check",
        "--policy",
        str(SAMPLE),
        "--facts",
        str(facts),
        "--now",
        allowed["now"],
        "--batch",
        str(batch),
    )
    assert result.code == 2
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [item["line"] for item in out] == [1, 2, 3, 5]
    assert (out[0]["decision"], out[0]["verdict"]) == ("allow", "ok")
    assert (out[1]["decision"], out[1]["verdict"]) == ("deny", "blocked")
    assert out[2]["error"]["code"] == "JSON_INVALID"
    assert out[3]["error"]["code"] == "FIELD_MISSING"


@pytest.mark.parametrize(
    ("names", "code"),
    [(["hot-routine-eth-allowed"] * 2, 0), (["hot-routine-eth-allowed", "fbi-listed-destination"], 1)],
)
def test_batch_exit_codes(cli: Run, tmp_path: Path, names: list[str], code: int) -> None:
    batch = tmp_path / "requests.jsonl"
    items = [vector(name) for name in names]
    batch.write_text(
        "".join(json.dumps({"request": request_of(i["request"]), "facts": i["facts"]}) + "\n" for i in items),
        encoding="utf-8",
    )
    result = cli("policy", "check", "--policy", str(SAMPLE), "--now", items[0]["now"], "--batch", str(batch))
    assert result.code == code
    assert len(result.stdout.splitlines()) == len(names)


def test_every_sample_vector_decides_the_same_through_the_cli(cli: Run, tmp_path: Path) -> None:
    """All decision vectors on the sample policy, grouped by decision time, through --batch."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(VECTORS.glob("*.json")):
        item = json.loads(path.read_text(encoding="utf-8"))
        if item["policy"] == "sample":
            groups.setdefault(item["now"], []).append(item)
    assert sum(len(items) for items in groups.values()) >= 30
    for now, items in groups.items():
        batch = tmp_path / "vectors.jsonl"
        batch.write_text(
            "".join(json.dumps({"request": request_of(i["request"]), "facts": i["facts"]}) + "\n" for i in items),
            encoding="utf-8",
        )
        result = cli("policy", "check", "--policy", str(SAMPLE), "--now", now, "--batch", str(batch))
        out = [json.loads(line) for line in result.stdout.splitlines()]
        assert [o.get("decision") for o in out] == [i["expect"]["decision"] for i in items], now
        expected_code = 0 if all(i["expect"]["decision"] == "allow" for i in items) else 1
        assert result.code == expected_code


# --- the real process -------------------------------------------------------------------------------------------------
def test_exit_codes_of_the_installed_command(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "mamori.cli.main", "policy", "check", "--policy", str(SAMPLE)]
    codes = []
    for name in ("hot-routine-eth-allowed", "request-tampered-after-signing"):
        request, facts, now = files(tmp_path, name)
        done = subprocess.run(
            [*command, "--facts", str(facts), "--now", now, str(request)], capture_output=True, check=False, timeout=60
        )
        codes.append(done.returncode)
    bad = subprocess.run(
        [*command, "--now", "now", str(tmp_path / "absent.json")], capture_output=True, check=False, timeout=60
    )
    assert codes == [0, 1]
    assert bad.returncode == 2 and bad.stdout == b"" and b"error " in bad.stderr


# --- docs/policy.md: the runnable example is run, and its outputs are the real ones -----------------------------------
def test_the_example_of_docs_policy_md_runs_as_shown(cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re
    import runpy
    import shlex
    import shutil

    doc = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```(\w+)\n(.*?)^```$", doc, flags=re.MULTILINE | re.DOTALL)
    (script,) = [body for kind, body in blocks if kind == "python" and "signing_payload(request)" in body]
    consoles = [body for kind, body in blocks if kind == "console"]
    assert len(consoles) >= 4
    monkeypatch.chdir(tmp_path)
    shutil.copy(SAMPLE, tmp_path / "policy.yaml")
    (tmp_path / "make_request.py").write_text(script, encoding="utf-8")
    runpy.run_path(str(tmp_path / "make_request.py"), run_name="__main__")
    checked = 0
    for body in consoles:
        steps = re.split(r"^\$ ", body, flags=re.MULTILINE)[1:]
        last = None
        for step in steps:
            command, _, expected = step.partition("\n")
            if command == "echo $?":
                assert last is not None and expected.strip() == str(last.code), command
                continue
            argv = shlex.split(command)
            assert argv[0] == "mamori", command
            last = cli(*argv[1:])
            shown = [line.rstrip() for line in last.stdout.decode().splitlines()]
            assert shown == [line.rstrip() for line in expected.splitlines()], command
            checked += 1
    assert checked >= 4


# --- screening lists consulted by `policy check` ----------------------------------------------------------------
INTEL = ROOT.parent / "shared" / "data" / "intel"


@pytest.mark.skipif(not INTEL.exists(), reason="needs ../shared/data/intel beside the repository")
def test_check_screens_against_the_lists_of_the_intel_folder(cli: Run, tmp_path: Path) -> None:
    request, facts, now = files(tmp_path, "fbi-listed-destination")
    facts.write_text(json.dumps({"history": []}), encoding="utf-8")  # no hit given: the lists must find it
    base = ("policy", "check", "--policy", str(SAMPLE), "--facts", str(facts), "--now", now, str(request), "--json")
    unscreened = cli(*base)
    assert "SCREENING_HIT" not in {r["code"] for r in unscreened.json()["reasons"]}
    screened = cli(*base, "--intel", str(INTEL))
    assert screened.code == 1
    hits = [r for r in screened.json()["reasons"] if r["code"] == "SCREENING_HIT"]
    assert [h["details"]["list"] for h in hits] == ["fbi-psa250226-bybit"]
    assert hits[0]["details"]["address"] == "0x51e9d833ecae4e8d9d8be17300aee6d3398c135d"


def test_a_required_list_that_was_not_consulted_denies(cli: Run, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        SAMPLE.read_text(encoding="utf-8").replace(
            "require: [ofac-sdn, fbi-psa250226-bybit]", "require: [own-blocklist]"
        ),
        encoding="utf-8",
    )
    blocklist = tmp_path / "blocked.txt"
    blocklist.write_text("0x" + "de" * 20 + "\n", encoding="utf-8")
    request, facts, now = files(tmp_path, "hot-routine-eth-allowed")
    facts.write_text(json.dumps({**json.loads(facts.read_text()), "screened_lists": []}), encoding="utf-8")
    base = ("policy", "check", "--policy", str(policy), "--facts", str(facts), "--now", now, str(request), "--json")
    without = cli(*base)
    assert without.code == 1
    assert "FACT_MISSING" in {r["code"] for r in without.json()["reasons"]}
    consulted = cli(*base, "--list", f"own-blocklist={blocklist}")
    assert consulted.code == 0, consulted.stdout
    assert consulted.json()["decision"] == "allow"
