"""The signature check of a PSBT's inputs: ``check_input_signatures`` and ``check_all_signatures``, one checker per
PSBT sharing the unsigned transaction, the signature hash caches and the parsed keys; ECDSA and Schnorr verified."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Literal, TypeVar

from coincurve import PublicKey, PublicKeyXOnly

from mamori.chains.bitcoin.psbt import Psbt, PsbtInput, unsigned_transaction
from mamori.chains.bitcoin.script import describe_script, hash160
from mamori.chains.bitcoin.sighash import (
    ECDSA_DEFINED_HASH_TYPES,
    SIGHASH_SINGLE,
    TAPROOT_HASH_TYPES,
    SighashCache,
    legacy_sighash,
    segwit_v0_sighash,
    tapleaf_hash,
    taproot_sighash,
)
from mamori.chains.bitcoin.signatures.encoding import SECP256K1_N, commits, encode_der_signature, parse_der_signature
from mamori.chains.bitcoin.signatures.model import (
    InputProblem,
    InputSignatures,
    SignatureCheck,
    SignatureProblem,
    SignatureVerdict,
    SpendKind,
    TapLeafCheck,
    UtxoSource,
)
from mamori.chains.bitcoin.signatures.spend import (
    Spend,
    Spent,
    analyse,
    key_in_script,
    leaf_signers,
    not_checked,
    resolve_spent,
)
from mamori.chains.bitcoin.transaction import Transaction
from mamori.errors import DecodeError, MamoriError

_Key = TypeVar("_Key", PublicKey, PublicKeyXOnly)
_HALF_N = SECP256K1_N // 2

_SEGWIT_V0 = frozenset({SpendKind.P2WPKH, SpendKind.P2SH_P2WPKH, SpendKind.P2WSH, SpendKind.P2SH_P2WSH})


def check_input_signatures(psbt: Psbt, index: int) -> InputSignatures:
    """Verify the signatures of input ``index``; raises only PSBT_INPUT_INDEX_INVALID (no such input)."""
    if not 0 <= index < len(psbt.inputs):
        raise DecodeError("PSBT_INPUT_INDEX_INVALID", index=index, count=len(psbt.inputs))
    return _Checker(psbt).check(index)


def check_all_signatures(psbt: Psbt) -> tuple[InputSignatures, ...]:
    """``check_input_signatures`` for every input, sharing the per-transaction hashes (linear in the inputs)."""
    checker = _Checker(psbt)
    return tuple(checker.check(index) for index in range(len(psbt.inputs)))


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
        self._spent: dict[int, Spent] = {}
        self._keys: dict[bytes, PublicKey | PublicKeyXOnly | None] = {}

    def _outpoint(self, index: int) -> tuple[bytes, int]:
        if self._tx is not None:
            txin = self._tx.inputs[index]
            return txin.prev_txid, txin.vout
        fields = self._psbt.inputs[index]
        return fields.previous_txid or bytes(32), fields.output_index or 0

    def spent(self, index: int) -> Spent:
        found = self._spent.get(index)
        if found is None:
            found = self._spent[index] = resolve_spent(self._psbt.inputs[index], self._outpoint(index))
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
        spend = Spend()
        script_type = None
        if spent.output is not None:
            script_type = describe_script(spent.output.script_pubkey).kind
            spend = analyse(fields, spent.output.script_pubkey, script_type, problems)
            if spend.scheme == "legacy" and spent.source is UtxoSource.WITNESS_UTXO:
                problems.append(InputProblem.WITNESS_UTXO_FOR_NON_WITNESS_INPUT)
            if spend.kind in _SEGWIT_V0 and fields.non_witness_utxo is None:
                problems.append(InputProblem.NON_WITNESS_UTXO_MISSING)
        tap_leaves: tuple[TapLeafCheck, ...] = ()
        if spend.kind is SpendKind.P2TR:
            signatures, tap_leaves = self._check_taproot(index, fields, spend, spent, problems)
            signatures += not_checked(fields, "ecdsa", SignatureProblem.WRONG_SCHEME)
        else:
            signatures = self._check_ecdsa_all(index, fields, spend, spent)
            unknown = spend.kind is SpendKind.UNKNOWN
            signatures += not_checked(
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

    def _check_ecdsa_all(self, index: int, fields: PsbtInput, spend: Spend, spent: Spent) -> tuple[SignatureCheck, ...]:
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
                in_script=key_in_script(sig.pubkey, spend),
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
        key = self._key(pubkey, PublicKey) if message is not None else None
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

    def _key(self, pubkey: bytes, kind: type[_Key]) -> _Key | None:
        """The parsed key (a point decompressed once per PSBT), or None when it is not a point of the curve."""
        if pubkey not in self._keys:
            try:
                self._keys[pubkey] = kind(pubkey)
            except ValueError:
                self._keys[pubkey] = None
        key = self._keys[pubkey]
        return key if isinstance(key, kind) else None

    # --- taproot ---

    def _check_taproot(
        self, index: int, fields: PsbtInput, spend: Spend, spent: Spent, problems: list[InputProblem]
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
            leaf_keys[leaf_hash] = leaf_signers(leaf.script) if leaf.leaf_version == 0xC0 else (None, ())
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
            committed = None if spent.output is None else commits(leaf.control_block, leaf, leaf_hash, output_key)
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
        key = self._key(pubkey, PublicKeyXOnly)
        if key is None:
            return done(SignatureProblem.PUBKEY_INVALID)
        message = taproot_sighash(tx, index, None, hash_type, leaf_hash=leaf_hash, cache=cache)
        return done(None if key.verify(signature[:64], message) else SignatureProblem.DOES_NOT_VERIFY)
