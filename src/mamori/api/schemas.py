"""Request bodies of the HTTP API. Strict: unknown members, wrong types and missing fields are refused (422
``BODY_INVALID``) before any service code runs; the services validate the content again on their own terms."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_Text = Field(min_length=1, max_length=256)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RequestSignatureBody(Strict):
    key_id: str = _Text
    ed25519: str = Field(min_length=1, max_length=200, description="64-byte Ed25519 signature, hex or base64")


class TransactionBody(Strict):
    kind: Literal["safe", "evm", "psbt"]
    record: dict[str, Any] | None = Field(default=None, description="Safe Transaction Service record (kind safe)")
    raw: str | None = Field(default=None, max_length=262_144, description="raw EVM transaction, 0x hex (kind evm)")
    psbt: str | None = Field(default=None, max_length=700_000, description="PSBT in base64 or hex (kind psbt)")


class WithdrawalRequestBody(Strict):
    """A withdrawal request as the system of record signed it (docs/guard.md, docs/policy.md)."""

    request_id: str = _Text
    created_at: str = Field(min_length=1, max_length=64, description="ISO 8601 with a time zone")
    initiator: str = _Text
    wallet: str = _Text
    chain: str = Field(min_length=1, max_length=64, description="CAIP-2, e.g. eip155:1")
    asset: str = Field(min_length=1, max_length=64)
    amount: str | int = Field(description="base units (wei), decimal")
    destination: str = _Text
    signature: RequestSignatureBody | None = None
    transaction: TransactionBody | None = None


class ApprovalSubjectBody(Strict):
    request_id: str = _Text
    wallet: str = _Text
    chain: str = Field(min_length=1, max_length=64)
    asset: str = Field(min_length=1, max_length=64)
    amount: str = Field(min_length=1, max_length=80)
    destination: str = _Text
    signing_hash: str = Field(min_length=1, max_length=80)
    policy_digest: str = Field(min_length=1, max_length=80)
    expires_at: str = Field(min_length=1, max_length=64)


class ApprovalBody(Strict):
    subject: ApprovalSubjectBody
    signature: str = Field(min_length=1, max_length=200, description="Ed25519 over the approval digest")
    key_id: str | None = Field(default=None, max_length=64, description="the approver's key, if they have several")


class ChangeBody(Strict):
    kind: Literal["policy", "approver_key.add", "approver_key.remove", "address_book.add", "address_book.remove"]
    text: str | None = Field(default=None, max_length=1_000_000, description="kind policy: the new policy's YAML")
    person: str | None = Field(default=None, max_length=256)
    public_key: str | None = Field(default=None, max_length=100)
    key_id: str | None = Field(default=None, max_length=64)
    chain: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=256)
    label: str | None = Field(default=None, max_length=256)


class ChangeApprovalBody(Strict):
    signature: str = Field(min_length=1, max_length=200, description="Ed25519 over the change digest")
    key_id: str | None = Field(default=None, max_length=64)


class BalanceBody(Strict):
    wallet: str = _Text
    asset: str = Field(min_length=1, max_length=64)
    amount: str = Field(min_length=1, max_length=78, pattern=r"^[0-9]+$")
