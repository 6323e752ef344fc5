"""docs/attestation.md: the worked examples are real: the digest, approval signature and token it prints are
what the code computes from the inputs it names, and the CLI accepts and refuses as the page says."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from mamori.cli.attest import app
from mamori.guard.approval import ApprovalSubject, approval_digest, sign_approval, verify_approval
from mamori.guard.attestation import issue_attestation

DOC = (Path(__file__).resolve().parents[2] / "docs" / "attestation.md").read_text(encoding="utf-8")
GUARD = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"mamori docs guard key").digest())
APPROVER = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"mamori docs approver key").digest())
SUBJECT = ApprovalSubject(
    request_id="wd-2026-0001",
    wallet="cold-eth-1",
    chain="eip155:1",
    asset="ETH",
    amount=250 * 10**18,
    destination="0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    signing_hash="0x" + hashlib.sha256(b"example safeTxHash").hexdigest(),
    policy_digest=hashlib.sha256(b"example policy").hexdigest(),
    expires_at=datetime(2026, 11, 26, 3, 15, tzinfo=UTC),
)


def _after(label: str) -> str:
    match = re.search(rf"^{label}:?\s*\n?(\S+)$", DOC, flags=re.MULTILINE)
    assert match, label
    return match.group(1)


def test_approval_example() -> None:
    assert SUBJECT.canonical_json().decode() in DOC
    assert f"digest:    {approval_digest(SUBJECT).hex()}" in DOC
    approval = sign_approval(SUBJECT, APPROVER)
    assert f"signature: {approval.signature.hex()}" in DOC
    verify_approval(
        approval, public_key=APPROVER.public_key(), expected=SUBJECT, now=datetime(2026, 11, 26, 3, tzinfo=UTC)
    )


def test_attestation_example_and_cli() -> None:
    token = issue_attestation(
        request_id="wd-2026-0001",
        chain="eip155:1",
        wallet="cold-eth-1",
        signing_hash=SUBJECT.signing_hash,
        private_key=GUARD,
        now=datetime(2026, 11, 26, 3, 2, 30, tzinfo=UTC),
        ttl_seconds=300,
    )
    assert _after("token") == token
    key = "897b38113c9490c39b8ccf2c0ea141041741362fbf6dc51deff5286bb6757073"
    runner = CliRunner()
    base = ["verify", token, "--public-key", key, "--signing-hash", SUBJECT.signing_hash]
    ok = runner.invoke(app, [*base, "--now", "2026-11-26T03:03:00Z"])
    assert ok.exit_code == 0
    assert ok.stdout.splitlines()[0] in DOC
    late = runner.invoke(app, [*base, "--now", "2026-11-26T03:07:30Z"])
    assert late.exit_code == 1
    assert "ATTESTATION_EXPIRED" in late.stdout
    swapped = runner.invoke(app, [*base[:-1], "0x" + "00" * 32, "--now", "2026-11-26T03:03:00Z"])
    assert swapped.exit_code == 1
    assert "ATTESTATION_HASH_MISMATCH" in swapped.stdout
