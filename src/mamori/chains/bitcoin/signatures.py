"""Who has signed each input of a PSBT, and whether each signature verifies: what the verification layer needs.

``check_input_signatures(psbt, index)`` resolves the output the input spends (from a NON_WITNESS_UTXO only when
its hash is the outpoint's txid; else from WITNESS_UTXO), follows the redeem and witness scripts (each checked to
hash to what it claims to be), finds the keys that may sign and the quorum (m of an ``OP_CHECKMULTISIG`` script, 1
for a single key, per leaf for taproot scripts), and verifies every PARTIAL_SIG (DER ECDSA, BIP-66 strict, over the
legacy or BIP-143 signature hash), TAP_KEY_SIG and TAP_SCRIPT_SIG (BIP-340 Schnorr over the BIP-341 signature hash)
with libsecp256k1 (coincurve).

Nothing here raises for what a PSBT lacks or gets wrong: a missing UTXO, a script that does not match, a signature
that does not verify are values (``InputProblem``, ``SignatureProblem``, ``SignatureVerdict``) for the verification
layer to turn into findings. High-S ECDSA signatures are normalized before verification (libsecp256k1 accepts only
low S) and reported, since they are valid by consensus but non-standard.

Not verified: scripts other than the templates in ``script.py`` (their signatures are still checked against the
script code, but whose keys count is unknown), OP_CODESEPARATOR positions inside witness scripts (the whole script is
the script code, as wallets sign), annexes, and the final scriptSig and witness of finalized inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from hashlib import sha256
from typing import Literal

from coincurve import PublicKey, PublicKeyXOnly

from mamori.chains.bitcoin.psbt import Psbt, PsbtInput, TapLeafScript, unsigned_transaction
from mamori.chains.bitcoin.script import (
    ScriptKind,
    describe_script,
    hash160,
    p2pk_key,
    parse_multi_a,
    parse_multisig,
    pushed_data,
)
from mamori.chains.bitcoin.sighash import (
    ECDSA_DEFINED_HASH_TYPES,
    SIGHASH_SINGLE,
    TAPROOT_HASH_TYPES,
    SighashCache,
    legacy_sighash,
    p2wpkh_script_code,
    segwit_v0_sighash,
    tagged_hash,
    tapleaf_hash,
    taproot_sighash,
)
from mamori.chains.bitcoin.transaction import Transaction, TxOut, txid
from mamori.errors import DecodeError, MamoriError

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = SECP256K1_N // 2


class SignatureVerdict(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNVERIFIABLE = "unverifiable"  # the data the signature hash needs is missing or untrusted


class SignatureProblem(StrEnum):
    ENCODING_INVALID = "encoding_invalid"  # not strict DER (BIP-66) with a hash type, or not a 64/65-byte Schnorr sig
    HIGH_S = "high_s"  # S above n/2: valid by consensus, non-standard (BIP-146); verified after normalizing
    SIGHASH_TYPE_UNDEFINED = "sighash_type_undefined"  # not ALL, NONE, SINGLE (| ANYONECANPAY) (or DEFAULT, taproot)
    SIGHASH_TYPE_MISMATCH = "sighash_type_mismatch"  # differs from the input's PSBT_IN_SIGHASH_TYPE
    SIGHASH_SINGLE_WITHOUT_OUTPUT = "sighash_single_without_output"  # SINGLE on an input with no output of its index
    PUBKEY_INVALID = "pubkey_invalid"  # not a point of the curve
    PUBKEY_NOT_IN_SCRIPT = "pubkey_not_in_script"  # the key cannot satisfy this input's script
    UNCOMPRESSED_KEY_IN_SEGWIT = "uncompressed_key_in_segwit"  # non-standard in segwit v0 (BIP-143 policy)
    LEAF_SCRIPT_UNKNOWN = "leaf_script_unknown"  # TAP_SCRIPT_SIG for a leaf without its TAP_LEAF_SCRIPT
    WRONG_SCHEME = "wrong_scheme"  # ECDSA on a taproot input, or Schnorr on an input that is not taproot
    DOES_NOT_VERIFY = "does_not_verify"  # well formed, but not a signature by this key of this input
    SIGHASH_UNAVAILABLE = "sighash_unavailable"  # see the input's problems: missing UTXOs or scripts


class InputProblem(StrEnum):
    UTXO_MISSING = "utxo_missing"  # neither NON_WITNESS_UTXO nor WITNESS_UTXO
    NON_WITNESS_UTXO_TXID_MISMATCH = "non_witness_utxo_txid_mismatch"  # its hash is not the outpoint's txid: ignored
    NON_WITNESS_UTXO_OUTPUT_MISSING = "non_witness_utxo_output_missing"  # it has no output at the outpoint's index
    NON_WITNESS_UTXO_MISSING = "non_witness_utxo_missing"  # segwit v0 with WITNESS_UTXO only: amount unproven
    WITNESS_UTXO_MISMATCH = "witness_utxo_mismatch"  # WITNESS_UTXO differs from the proven previous output
    WITNESS_UTXO_FOR_NON_WITNESS_INPUT = "witness_utxo_for_non_witness_input"  # BIP-174 signer check
    REDEEM_SCRIPT_MISSING = "redeem_script_missing"
    REDEEM_SCRIPT_MISMATCH = "redeem_script_mismatch"  # does not hash to the P2SH scriptPubKey
    WITNESS_SCRIPT_MISSING = "witness_script_missing"
    WITNESS_SCRIPT_MISMATCH = "witness_script_mismatch"  # does not hash to the P2WSH program
    SCRIPT_UNSUPPORTED = "script_unsupported"  # not a template whose signing keys are known
    SPENT_OUTPUTS_MISSING = "spent_outputs_missing"  # taproot signs every input's spent output; some are unknown
    TRANSACTION_UNDETERMINED = "transaction_undetermined"  # version 2: no lock time satisfies every input


class SpendKind(StrEnum):
    P2PK = "p2pk"
    P2PKH = "p2pkh"
    BARE_MULTISIG = "bare_multisig"
    P2SH = "p2sh"  # legacy P2SH: the redeem script is executed
    P2WPKH = "p2wpkh"
    P2SH_P2WPKH = "p2sh-p2wpkh"
    P2WSH = "p2wsh"
    P2SH_P2WSH = "p2sh-p2wsh"
    P2TR = "p2tr"
    UNKNOWN = "unknown"  # the spent output is unknown, or of no kind this module signs for


_SEGWIT_V0 = frozenset({SpendKind.P2WPKH, SpendKind.P2SH_P2WPKH, SpendKind.P2WSH, SpendKind.P2SH_P2WSH})


class UtxoSource(StrEnum):
    NON_WITNESS_UTXO = "non_witness_utxo"  # the previous transaction, hashed to the outpoint's txid
    WITNESS_UTXO = "witness_utxo"  # the output as the PSBT states it, unproven


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """One signature: ``in_script`` says whether its key can satisfy the input's script (or leaf).

    ``reason`` is the problem that decided an INVALID or UNVERIFIABLE verdict (None when VALID); ``problems`` lists
    every problem found, including those that do not change the verdict (HIGH_S, SIGHASH_TYPE_MISMATCH, …).
    """

    pubkey: bytes
    signature: bytes
    scheme: Literal["ecdsa", "schnorr"]
    sighash_type: int | None  # None when the signature is too short to carry one
    verdict: SignatureVerdict
    reason: SignatureProblem | None
    problems: tuple[SignatureProblem, ...]
    in_script: bool
    low_s: bool | None = None  # ECDSA only
    leaf_hash: bytes | None = None  # taproot script path only

    def to_json(self) -> dict[str, object]:
        return {
            "pubkey": self.pubkey.hex(),
            "signature": self.signature.hex(),
            "scheme": self.scheme,
            "sighash_type": self.sighash_type,
            "verdict": self.verdict.value,
            "reason": self.reason.value if self.reason is not None else None,
            "problems": [problem.value for problem in self.problems],
            "in_script": self.in_script,
            "low_s": self.low_s,
            "leaf_hash": self.leaf_hash.hex() if self.leaf_hash is not None else None,
        }


@dataclass(frozen=True, slots=True)
class TapLeafCheck:
    """A TAP_LEAF_SCRIPT: whether its control block commits to the spent output key, and its signers."""

    leaf_hash: bytes
    script: bytes
    leaf_version: int
    committed: bool | None  # None when the spent output is unknown
    required: int | None  # None when the leaf is not a template whose keys are known
    keys: tuple[bytes, ...]
    valid: int  # distinct keys of ``keys`` with a VALID signature for this leaf


@dataclass(frozen=True, slots=True)
class InputSignatures:
    """Everything known about who signed input ``index``.

    ``required`` and ``keys`` are the quorum and signers of the script that is signed (for P2TR: of the key path;
    each script-path leaf is in ``tap_leaves``); ``valid`` counts distinct keys of ``keys`` with a VALID
    signature. ``non_witness_utxo_txid`` is the hash of the NON_WITNESS_UTXO as given (compare with the outpoint).
    """

    index: int
    kind: SpendKind
    finalized: bool  # it has a final scriptSig or witness (a finalizer drops the fields this module reads)
    script_type: ScriptKind | None
    spent_output: TxOut | None
    utxo_source: UtxoSource | None
    outpoint: tuple[bytes, int]
    non_witness_utxo_txid: bytes | None
    signing_script: bytes | None
    required: int | None
    keys: tuple[bytes, ...]
    signatures: tuple[SignatureCheck, ...]
    valid: int
    problems: tuple[InputProblem, ...]
    tap_leaves: tuple[TapLeafCheck, ...] = ()

    @property
    def invalid(self) -> tuple[SignatureCheck, ...]:
        """The signatures whose verdict is INVALID (UNVERIFIABLE ones are not: see ``problems``)."""
        return tuple(check for check in self.signatures if check.verdict is SignatureVerdict.INVALID)


def check_input_signatures(psbt: Psbt, index: int) -> InputSignatures:
    """Verify the signatures of input ``index``; raises only PSBT_INPUT_INDEX_INVALID (no such input)."""
    if not 0 <= index < len(psbt.inputs):
        raise DecodeError("PSBT_INPUT_INDEX_INVALID", index=index, count=len(psbt.inputs))
    return _Checker(psbt).check(index)


def check_all_signatures(psbt: Psbt) -> tuple[InputSignatures, ...]:
    """``check_input_signatures`` for every input, sharing the per-transaction hashes (linear in the inputs)."""
    checker = _Checker(psbt)
    return tuple(checker.check(index) for index in range(len(psbt.inputs)))


@dataclass(frozen=True, slots=True)
class _Spent:
    output: TxOut | None
    source: UtxoSource | None
    non_witness_utxo_txid: bytes | None
    problems: tuple[InputProblem, ...]


@dataclass(slots=True)
class _Spend:
    """How an input is signed, worked out from its spent output and scripts."""

    kind: SpendKind = SpendKind.UNKNOWN
    scheme: Literal["legacy", "bip143", "taproot", "none"] = "none"
    script_code: bytes | None = None
    signing_script: bytes | None = None
    required: int | None = None
    keys: tuple[bytes, ...] = ()
    key_hash: bytes | None = None  # P2PKH and P2WPKH: a key is in the script when it hashes to this


class _Checker:
    __slots__ = ("_cache", "_keys", "_psbt", "_spent", "_taproot_cache", "_tx", "_tx_problem")

    def __init__(self, psbt: Psbt) -> None:
        self._psbt = psbt
        self._tx: Transaction | None
        self._tx_problem: InputProblem | None = None
        try:
            self._tx = unsigned_transaction(psbt)
        except MamoriError:  # version 2 whose inputs' lock times cannot all be met
            self._tx = None
            self._tx_problem = InputProblem.TRANSACTION_UNDETERMINED
        self._cache: SighashCache | None = None  # built on the first BIP-143 signature: unsigned PSBTs need none
        self._taproot_cache: SighashCache | Literal[False] | None = False  # False: not computed yet
        self._spent: dict[int, _Spent] = {}
        self._keys: dict[bytes, PublicKey | PublicKeyXOnly | None] = {}

    def _outpoint(self, index: int) -> tuple[bytes, int]:
        if self._tx is not None:
            txin = self._tx.inputs[index]
            return txin.prev_txid, txin.vout
        fields = self._psbt.inputs[index]
        return fields.previous_txid or bytes(32), fields.output_index or 0

    def spent(self, index: int) -> _Spent:
        found = self._spent.get(index)
        if found is None:
            found = self._spent[index] = _resolve_spent(self._psbt.inputs[index], self._outpoint(index))
        return found

    def taproot_cache(self) -> SighashCache | None:
        if self._taproot_cache is False:
            outputs = [self.spent(index).output for index in range(len(self._psbt.inputs))]
            if self._tx is None or any(output is None for output in outputs):
                self._taproot_cache = None
            else:
                self._taproot_cache = SighashCache(self._tx, [output for output in outputs if output is not None])
        return self._taproot_cache

    def check(self, index: int) -> InputSignatures:
        fields = self._psbt.inputs[index]
        spent = self.spent(index)
        problems = list(spent.problems)
        if self._tx_problem is not None:
            problems.append(self._tx_problem)
        spend = _Spend()
        script_type = None
        if spent.output is not None:
            script_type = describe_script(spent.output.script_pubkey).kind
            spend = _analyse(fields, spent.output.script_pubkey, script_type, problems)
            if spend.scheme == "legacy" and spent.source is UtxoSource.WITNESS_UTXO:
                problems.append(InputProblem.WITNESS_UTXO_FOR_NON_WITNESS_INPUT)
            if spend.kind in _SEGWIT_V0 and fields.non_witness_utxo is None:
                problems.append(InputProblem.NON_WITNESS_UTXO_MISSING)
        tap_leaves: tuple[TapLeafCheck, ...] = ()
        if spend.kind is SpendKind.P2TR:
            signatures, tap_leaves = self._check_taproot(index, fields, spend, spent, problems)
            signatures += _not_checked(fields, "ecdsa", SignatureProblem.WRONG_SCHEME)
        else:
            signatures = self._check_ecdsa_all(index, fields, spend, spent)
            unknown = spend.kind is SpendKind.UNKNOWN
            signatures += _not_checked(
                fields, "schnorr", SignatureProblem.SIGHASH_UNAVAILABLE if unknown else SignatureProblem.WRONG_SCHEME
            )
        if spend.key_hash is not None:
            candidates = [sig.pubkey for sig in fields.partial_sigs]
            candidates += [derivation.pubkey for derivation in fields.bip32_derivations]
            spend.keys = tuple(key for key in dict.fromkeys(candidates) if hash160(key) == spend.key_hash)
        valid = {  # for P2TR the key path's: each leaf counts its own in tap_leaves
            check.pubkey
            for check in signatures
            if check.verdict is SignatureVerdict.VALID and check.in_script and check.leaf_hash is None
        }
        return InputSignatures(
            index=index,
            kind=spend.kind,
            finalized=fields.final_script_sig is not None or fields.final_script_witness is not None,
            script_type=script_type,
            spent_output=spent.output,
            utxo_source=spent.source,
            outpoint=self._outpoint(index),
            non_witness_utxo_txid=spent.non_witness_utxo_txid,
            signing_script=spend.signing_script,
            required=spend.required,
            keys=spend.keys,
            signatures=signatures,
            valid=len(valid),
            problems=tuple(dict.fromkeys(problems)),
            tap_leaves=tap_leaves,
        )

    # --- ECDSA (legacy and segwit v0) ---

    def _check_ecdsa_all(
        self, index: int, fields: PsbtInput, spend: _Spend, spent: _Spent
    ) -> tuple[SignatureCheck, ...]:
        digests: dict[int, bytes | None] = {}
        tx = self._tx
        script_code = spend.script_code
        amount = spent.output.amount if spent.output is not None else None

        def digest(hash_type: int) -> bytes | None:
            if hash_type not in digests:
                if tx is None or script_code is None or (spend.scheme == "bip143" and amount is None):
                    digests[hash_type] = None
                elif spend.scheme == "legacy":
                    digests[hash_type] = legacy_sighash(tx, index, script_code, hash_type)
                elif spend.scheme == "bip143" and amount is not None:
                    if self._cache is None:
                        self._cache = SighashCache(tx)
                    digests[hash_type] = segwit_v0_sighash(tx, index, script_code, amount, hash_type, self._cache)
                else:
                    digests[hash_type] = None
            return digests[hash_type]

        single_orphan = self._tx is not None and index >= len(self._tx.outputs)
        return tuple(
            self._check_ecdsa(
                sig.pubkey,
                sig.signature,
                digest,
                in_script=_in_script(sig.pubkey, spend),
                expected=fields.sighash_type,
                segwit=spend.scheme == "bip143",
                single_orphan=single_orphan,
            )
            for sig in fields.partial_sigs
        )

    def _check_ecdsa(
        self,
        pubkey: bytes,
        signature: bytes,
        digest: Callable[[int], bytes | None],
        *,
        in_script: bool,
        expected: int | None,
        segwit: bool,
        single_orphan: bool,
    ) -> SignatureCheck:
        problems: list[SignatureProblem] = [] if in_script else [SignatureProblem.PUBKEY_NOT_IN_SCRIPT]
        hash_type = signature[-1] if signature else None
        parsed = parse_der_signature(signature)
        if hash_type is None or parsed is None:
            problems.append(SignatureProblem.ENCODING_INVALID)
            return SignatureCheck(
                pubkey,
                signature,
                "ecdsa",
                hash_type,
                SignatureVerdict.INVALID,
                SignatureProblem.ENCODING_INVALID,
                tuple(problems),
                in_script,
            )
        if hash_type not in ECDSA_DEFINED_HASH_TYPES:
            problems.append(SignatureProblem.SIGHASH_TYPE_UNDEFINED)
        if expected is not None and hash_type != expected:
            problems.append(SignatureProblem.SIGHASH_TYPE_MISMATCH)
        if single_orphan and hash_type & 0x1F == SIGHASH_SINGLE:
            problems.append(SignatureProblem.SIGHASH_SINGLE_WITHOUT_OUTPUT)
        if segwit and len(pubkey) == 65:
            problems.append(SignatureProblem.UNCOMPRESSED_KEY_IN_SEGWIT)
        r, s = parsed
        low_s = s <= _HALF_N
        if not low_s:
            problems.append(SignatureProblem.HIGH_S)
        reason: SignatureProblem | None = None
        message = digest(hash_type)
        key = self._ecdsa_key(pubkey) if message is not None else None
        if message is None:
            reason = SignatureProblem.SIGHASH_UNAVAILABLE
        elif key is None:
            reason = SignatureProblem.PUBKEY_INVALID
        elif not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
            reason = SignatureProblem.DOES_NOT_VERIFY
        else:
            der = signature[:-1] if low_s else encode_der_signature(r, SECP256K1_N - s)
            try:
                verified = bool(key.verify(der, message, hasher=None))
            except ValueError:
                verified = False
            if not verified:
                reason = SignatureProblem.DOES_NOT_VERIFY
        if reason is None:
            verdict = SignatureVerdict.VALID
        else:
            problems.append(reason)
            verdict = (
                SignatureVerdict.UNVERIFIABLE
                if reason is SignatureProblem.SIGHASH_UNAVAILABLE
                else SignatureVerdict.INVALID
            )
        return SignatureCheck(pubkey, signature, "ecdsa", hash_type, verdict, reason, tuple(problems), in_script, low_s)

    def _ecdsa_key(self, pubkey: bytes) -> PublicKey | None:
        if pubkey not in self._keys:
            try:
                self._keys[pubkey] = PublicKey(pubkey)
            except ValueError:
                self._keys[pubkey] = None
        key = self._keys[pubkey]
        return key if isinstance(key, PublicKey) else None

    def _xonly_key(self, pubkey: bytes) -> PublicKeyXOnly | None:
        if pubkey not in self._keys:
            try:
                self._keys[pubkey] = PublicKeyXOnly(pubkey)
            except ValueError:
                self._keys[pubkey] = None
        key = self._keys[pubkey]
        return key if isinstance(key, PublicKeyXOnly) else None

    # --- taproot ---

    def _check_taproot(
        self, index: int, fields: PsbtInput, spend: _Spend, spent: _Spent, problems: list[InputProblem]
    ) -> tuple[tuple[SignatureCheck, ...], tuple[TapLeafCheck, ...]]:
        output_key = spend.keys[0]
        cache = self.taproot_cache()
        if cache is None and (fields.tap_key_sig is not None or fields.tap_script_sigs):
            problems.append(InputProblem.SPENT_OUTPUTS_MISSING)
        checks: list[SignatureCheck] = []
        if fields.tap_key_sig is not None:
            checks.append(self._check_schnorr(index, output_key, fields.tap_key_sig, None, True, fields, cache))
        leaves = {tapleaf_hash(leaf.script, leaf.leaf_version): leaf for leaf in fields.tap_leaf_scripts}
        leaf_keys: dict[bytes, tuple[int | None, tuple[bytes, ...]]] = {}
        for leaf_hash, leaf in leaves.items():
            leaf_keys[leaf_hash] = _leaf_signers(leaf.script) if leaf.leaf_version == 0xC0 else (None, ())
        for sig in fields.tap_script_sigs:
            known = leaf_keys.get(sig.leaf_hash)
            in_script = known is not None and sig.pubkey in known[1]
            check = self._check_schnorr(index, sig.pubkey, sig.signature, sig.leaf_hash, in_script, fields, cache)
            if known is None:
                check = replace(check, problems=(*check.problems, SignatureProblem.LEAF_SCRIPT_UNKNOWN))
            checks.append(check)
        leaf_checks = []
        for leaf_hash, leaf in leaves.items():
            required, keys = leaf_keys[leaf_hash]
            signed = {
                check.pubkey
                for check in checks
                if check.leaf_hash == leaf_hash and check.in_script and check.verdict is SignatureVerdict.VALID
            }
            committed = None if spent.output is None else _commits(leaf.control_block, leaf, leaf_hash, output_key)
            leaf_checks.append(
                TapLeafCheck(leaf_hash, leaf.script, leaf.leaf_version, committed, required, keys, len(signed))
            )
        return tuple(checks), tuple(leaf_checks)

    def _check_schnorr(
        self,
        index: int,
        pubkey: bytes,
        signature: bytes,
        leaf_hash: bytes | None,
        in_script: bool,
        fields: PsbtInput,
        cache: SighashCache | None,
    ) -> SignatureCheck:
        problems: list[SignatureProblem] = [] if in_script else [SignatureProblem.PUBKEY_NOT_IN_SCRIPT]
        hash_type = 0 if len(signature) == 64 else signature[64]

        def done(reason: SignatureProblem | None) -> SignatureCheck:
            if reason is None:
                verdict = SignatureVerdict.VALID
            else:
                problems.append(reason)
                unverifiable = reason is SignatureProblem.SIGHASH_UNAVAILABLE
                verdict = SignatureVerdict.UNVERIFIABLE if unverifiable else SignatureVerdict.INVALID
            return SignatureCheck(
                pubkey, signature, "schnorr", hash_type, verdict, reason, tuple(problems), in_script, None, leaf_hash
            )

        if len(signature) == 65 and hash_type == 0:
            return done(SignatureProblem.ENCODING_INVALID)  # BIP-341: SIGHASH_DEFAULT is only 64 bytes
        if fields.sighash_type is not None and fields.sighash_type != hash_type:
            problems.append(SignatureProblem.SIGHASH_TYPE_MISMATCH)
        if hash_type not in TAPROOT_HASH_TYPES:
            return done(SignatureProblem.SIGHASH_TYPE_UNDEFINED)
        tx = self._tx
        if tx is not None and hash_type & 0x03 == SIGHASH_SINGLE and index >= len(tx.outputs):
            return done(SignatureProblem.SIGHASH_SINGLE_WITHOUT_OUTPUT)  # BIP-341 makes such a signature invalid
        if cache is None or tx is None:
            return done(SignatureProblem.SIGHASH_UNAVAILABLE)
        key = self._xonly_key(pubkey)
        if key is None:
            return done(SignatureProblem.PUBKEY_INVALID)
        message = taproot_sighash(tx, index, None, hash_type, leaf_hash=leaf_hash, cache=cache)
        return done(None if key.verify(signature[:64], message) else SignatureProblem.DOES_NOT_VERIFY)


def _not_checked(
    fields: PsbtInput, scheme: Literal["ecdsa", "schnorr"], reason: SignatureProblem
) -> tuple[SignatureCheck, ...]:
    """Signatures of the scheme the input does not use (WRONG_SCHEME), or of an input of unknown kind."""
    verdict = (
        SignatureVerdict.UNVERIFIABLE if reason is SignatureProblem.SIGHASH_UNAVAILABLE else SignatureVerdict.INVALID
    )
    found: list[tuple[bytes, bytes, bytes | None]]
    if scheme == "ecdsa":
        found = [(sig.pubkey, sig.signature, None) for sig in fields.partial_sigs]
    else:
        found = [(sig.pubkey, sig.signature, sig.leaf_hash) for sig in fields.tap_script_sigs]
        if fields.tap_key_sig is not None:
            found.insert(0, (b"", fields.tap_key_sig, None))  # the key path's key is the output key, unknown here
    return tuple(
        SignatureCheck(
            pubkey,
            signature,
            scheme,
            (signature[-1] if signature else None)
            if scheme == "ecdsa"
            else (signature[64] if len(signature) == 65 else 0),
            verdict,
            reason,
            (reason,),
            in_script=False,
            leaf_hash=leaf_hash,
        )
        for pubkey, signature, leaf_hash in found
    )


def _resolve_spent(fields: PsbtInput, outpoint: tuple[bytes, int]) -> _Spent:
    problems: list[InputProblem] = []
    output: TxOut | None = None
    source: UtxoSource | None = None
    previous_txid: bytes | None = None
    previous = fields.non_witness_utxo
    if previous is not None:
        previous_txid = fields.non_witness_utxo_txid or txid(previous)
        if previous_txid != outpoint[0]:
            problems.append(InputProblem.NON_WITNESS_UTXO_TXID_MISMATCH)
        elif outpoint[1] >= len(previous.outputs):
            problems.append(InputProblem.NON_WITNESS_UTXO_OUTPUT_MISSING)
        else:
            output, source = previous.outputs[outpoint[1]], UtxoSource.NON_WITNESS_UTXO
    stated = fields.witness_utxo
    if stated is not None:
        if output is None:
            output, source = stated, UtxoSource.WITNESS_UTXO
        elif stated != output:
            problems.append(InputProblem.WITNESS_UTXO_MISMATCH)
    if previous is None and stated is None:
        problems.append(InputProblem.UTXO_MISSING)
    return _Spent(output, source, previous_txid, tuple(problems))


def _analyse(fields: PsbtInput, script_pubkey: bytes, script_type: ScriptKind, problems: list[InputProblem]) -> _Spend:
    """Work out how the input is signed; scripts that do not hash to what they claim leave the spend unknown."""
    if script_type is ScriptKind.P2PKH:
        return _Spend(SpendKind.P2PKH, "legacy", script_pubkey, script_pubkey, 1, (), script_pubkey[3:23])
    if script_type is ScriptKind.P2PK:
        return _Spend(SpendKind.P2PK, "legacy", script_pubkey, script_pubkey, 1, (script_pubkey[1:-1],))
    multisig = parse_multisig(script_pubkey) if script_type is ScriptKind.MULTISIG else None
    if multisig is not None:
        return _Spend(SpendKind.BARE_MULTISIG, "legacy", script_pubkey, script_pubkey, multisig.m, multisig.keys)
    if script_type is ScriptKind.P2WPKH:
        program = script_pubkey[2:]
        return _Spend(SpendKind.P2WPKH, "bip143", p2wpkh_script_code(program), None, 1, (), program)
    if script_type is ScriptKind.P2WSH:
        return _witness_script_spend(fields, script_pubkey[2:], SpendKind.P2WSH, problems)
    if script_type is ScriptKind.P2TR:
        return _Spend(SpendKind.P2TR, "taproot", None, None, 1, (script_pubkey[2:],))
    if script_type is not ScriptKind.P2SH:
        problems.append(InputProblem.SCRIPT_UNSUPPORTED)
        return _Spend()
    redeem = fields.redeem_script
    if redeem is None:
        problems.append(InputProblem.REDEEM_SCRIPT_MISSING)
        return _Spend(SpendKind.P2SH)
    if hash160(redeem) != script_pubkey[2:22]:
        problems.append(InputProblem.REDEEM_SCRIPT_MISMATCH)
        return _Spend(SpendKind.P2SH)
    inner = describe_script(redeem).kind
    if inner is ScriptKind.P2WPKH:
        program = redeem[2:]
        return _Spend(SpendKind.P2SH_P2WPKH, "bip143", p2wpkh_script_code(program), None, 1, (), program)
    if inner is ScriptKind.P2WSH:
        return _witness_script_spend(fields, redeem[2:], SpendKind.P2SH_P2WSH, problems)
    if inner in (ScriptKind.P2TR, ScriptKind.WITNESS_UNKNOWN):
        problems.append(InputProblem.SCRIPT_UNSUPPORTED)
        return _Spend(SpendKind.P2SH)
    return _script_spend(SpendKind.P2SH, "legacy", redeem, problems)


def _witness_script_spend(fields: PsbtInput, program: bytes, kind: SpendKind, problems: list[InputProblem]) -> _Spend:
    script = fields.witness_script
    if script is None:
        problems.append(InputProblem.WITNESS_SCRIPT_MISSING)
        return _Spend(kind)
    if sha256(script).digest() != program:
        problems.append(InputProblem.WITNESS_SCRIPT_MISMATCH)
        return _Spend(kind)
    return _script_spend(kind, "bip143", script, problems)


def _script_spend(
    kind: SpendKind, scheme: Literal["legacy", "bip143"], script: bytes, problems: list[InputProblem]
) -> _Spend:
    multisig = parse_multisig(script)
    if multisig is not None:
        return _Spend(kind, scheme, script, script, multisig.m, multisig.keys)
    key = p2pk_key(script)
    if key is not None:
        return _Spend(kind, scheme, script, script, 1, (key,))
    if describe_script(script).kind is ScriptKind.P2PKH:
        return _Spend(kind, scheme, script, script, 1, (), script[3:23])
    problems.append(InputProblem.SCRIPT_UNSUPPORTED)
    return _Spend(kind, scheme, script, script)


def _in_script(pubkey: bytes, spend: _Spend) -> bool:
    if spend.key_hash is not None:
        return hash160(pubkey) == spend.key_hash
    return pubkey in spend.keys


def _leaf_signers(script: bytes) -> tuple[int | None, tuple[bytes, ...]]:
    """Quorum and x-only keys of a tapscript leaf: ``multi_a``, ``<key> OP_CHECKSIG``, else unknown."""
    multi = parse_multi_a(script)
    if multi is not None:
        return multi.m, multi.keys
    if len(script) == 34 and script[0] == 32 and script[33] == 0xAC:
        return 1, (script[1:33],)
    keys = pushed_data(script) or ()
    return None, tuple(key for key in keys if len(key) == 32)


def _commits(control: bytes, leaf: TapLeafScript, leaf_hash: bytes, output_key: bytes) -> bool:
    """Whether the control block proves the leaf is in the tree of ``output_key`` (BIP-341 script path check)."""
    if control[0] & 0xFE != leaf.leaf_version:
        return False
    node = leaf_hash
    for start in range(33, len(control), 32):
        sibling = control[start : start + 32]
        node = tagged_hash("TapBranch", node + sibling if node < sibling else sibling + node)
    internal = control[1:33]
    tweak = tagged_hash("TapTweak", internal + node)
    if int.from_bytes(tweak, "big") >= SECP256K1_N:
        return False
    try:
        key = PublicKeyXOnly(internal)
        key.tweak_add(tweak)
    except ValueError:
        return False
    return bool(key.format() == output_key and key.parity == bool(control[0] & 1))


def parse_der_signature(signature: bytes) -> tuple[int, int] | None:
    """(r, s) of a strict DER signature followed by its hash type byte (BIP-66 ``IsValidSignatureEncoding``)."""
    size = len(signature)
    if not 9 <= size <= 73 or signature[0] != 0x30 or signature[1] != size - 3:
        return None
    r_len = signature[3]
    if 5 + r_len >= size:
        return None
    s_len = signature[5 + r_len]
    if r_len + s_len + 7 != size:
        return None
    if signature[2] != 0x02 or r_len == 0 or signature[4] & 0x80:
        return None
    if r_len > 1 and signature[4] == 0 and not signature[5] & 0x80:
        return None
    if signature[r_len + 4] != 0x02 or s_len == 0 or signature[r_len + 6] & 0x80:
        return None
    if s_len > 1 and signature[r_len + 6] == 0 and not signature[r_len + 7] & 0x80:
        return None
    r = int.from_bytes(signature[4 : 4 + r_len], "big")
    s = int.from_bytes(signature[6 + r_len : 6 + r_len + s_len], "big")
    return r, s


def encode_der_signature(r: int, s: int) -> bytes:
    """The DER encoding of (r, s) without a hash type byte."""
    r_bytes = r.to_bytes((r.bit_length() + 8) // 8, "big")
    s_bytes = s.to_bytes((s.bit_length() + 8) // 8, "big")
    body = b"\x02" + bytes((len(r_bytes),)) + r_bytes + b"\x02" + bytes((len(s_bytes),)) + s_bytes
    return b"\x30" + bytes((len(body),)) + body
