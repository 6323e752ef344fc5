"""The message a Bitcoin signature commits to, for each of the three signing schemes.

* ``legacy_sighash``: pre-segwit inputs (P2PKH, P2SH, bare scripts), as Bitcoin Core's ``SignatureHash`` with
  ``SigVersion::BASE``, including its quirks: OP_CODESEPARATORs are removed from the script code, and SIGHASH_SINGLE
  on an input without a matching output signs the number 1 (the "SIGHASH_SINGLE bug"), which any key can then
  sign for. FindAndDelete of the signature itself is not applied: it only matters for scripts that contain their
  own signature, which no wallet produces.
* ``segwit_v0_sighash``: BIP-143 (P2WPKH, P2WSH, and both nested in P2SH); the script code is given by the caller
  (``p2wpkh_script_code`` for P2WPKH, the witness script from its last executed OP_CODESEPARATOR for P2WSH).
* ``taproot_sighash``: BIP-341 (key path, and script path with ``leaf_hash``), which commits to the amounts and
  scripts of every input's spent output.

``SighashCache`` holds the per-transaction hashes BIP-143 and BIP-341 share between inputs, so signing hashes for
all inputs cost O(inputs) rather than O(inputs²).
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256

from mamori.chains.bitcoin.script import p2pkh_script, script_code_without_separators
from mamori.chains.bitcoin.transaction import Transaction, TxOut, compact_size, serialize_output, sha256d
from mamori.errors import DecodeError

SIGHASH_DEFAULT = 0x00  # taproot only: like ALL, and the signature is 64 bytes
SIGHASH_ALL = 0x01
SIGHASH_NONE = 0x02
SIGHASH_SINGLE = 0x03
SIGHASH_ANYONECANPAY = 0x80
TAPROOT_HASH_TYPES = frozenset({0x00, 0x01, 0x02, 0x03, 0x81, 0x82, 0x83})
ECDSA_DEFINED_HASH_TYPES = frozenset({0x01, 0x02, 0x03, 0x81, 0x82, 0x83})
TAPSCRIPT_LEAF_VERSION = 0xC0
CODESEP_NONE = 0xFFFFFFFF

UINT256_ONE = (1).to_bytes(32, "little")  # what the legacy SIGHASH_SINGLE bug signs, as a hash in internal order
_ZERO32 = bytes(32)
_TAG_PREFIXES: dict[str, bytes] = {}


def tagged_hash(tag: str, data: bytes) -> bytes:
    """BIP-340 tagged hash: SHA-256(SHA-256(tag) || SHA-256(tag) || data)."""
    prefix = _TAG_PREFIXES.get(tag)
    if prefix is None:
        digest = sha256(tag.encode("utf-8")).digest()
        prefix = _TAG_PREFIXES[tag] = digest + digest
    return sha256(prefix + data).digest()


def tapleaf_hash(script: bytes, leaf_version: int = TAPSCRIPT_LEAF_VERSION) -> bytes:
    """BIP-341 leaf hash of a tapscript leaf."""
    return tagged_hash("TapLeaf", bytes((leaf_version,)) + compact_size(len(script)) + script)


def p2wpkh_script_code(key_hash: bytes) -> bytes:
    """BIP-143's script code for a P2WPKH program: the P2PKH script of the same key hash."""
    return p2pkh_script(key_hash)


class SighashCache:
    """The hashes of one transaction's outpoints, sequences and outputs (and, for taproot, its spent outputs).

    Computed once, used for every input's signature hash. ``spent_outputs`` (one per input, in order) are needed
    only for BIP-341; without them ``taproot_sighash`` raises.
    """

    __slots__ = (
        "_outputs",
        "_prevouts",
        "_sequences",
        "bip143_outputs",
        "bip143_prevouts",
        "bip143_sequences",
        "bip341_amounts",
        "bip341_outputs",
        "bip341_prevouts",
        "bip341_scripts",
        "bip341_sequences",
        "spent_outputs",
        "tx",
    )

    def __init__(self, tx: Transaction, spent_outputs: Sequence[TxOut] | None = None) -> None:
        self.tx = tx
        prevouts = b"".join(txin.prev_txid + txin.vout.to_bytes(4, "little") for txin in tx.inputs)
        sequences = b"".join(txin.sequence.to_bytes(4, "little") for txin in tx.inputs)
        outputs = b"".join(serialize_output(txout) for txout in tx.outputs)
        self.bip341_prevouts = sha256(prevouts).digest()
        self.bip341_sequences = sha256(sequences).digest()
        self.bip341_outputs = sha256(outputs).digest()
        self.bip143_prevouts = sha256(self.bip341_prevouts).digest()
        self.bip143_sequences = sha256(self.bip341_sequences).digest()
        self.bip143_outputs = sha256(self.bip341_outputs).digest()
        self.spent_outputs: tuple[TxOut, ...] | None = None
        self.bip341_amounts = self.bip341_scripts = _ZERO32
        if spent_outputs is not None:
            spent = tuple(spent_outputs)
            if len(spent) != len(tx.inputs):
                raise DecodeError(
                    "BTC_SIGHASH_INPUT_INVALID",
                    index="*",
                    reason=f"{len(spent)} spent outputs given for {len(tx.inputs)} inputs",
                )
            self.spent_outputs = spent
            self.bip341_amounts = sha256(b"".join(o.amount.to_bytes(8, "little", signed=True) for o in spent)).digest()
            self.bip341_scripts = sha256(
                b"".join(compact_size(len(o.script_pubkey)) + o.script_pubkey for o in spent)
            ).digest()


def _check_index(tx: Transaction, index: int) -> None:
    if not 0 <= index < len(tx.inputs):
        raise DecodeError(
            "BTC_SIGHASH_INPUT_INVALID", index=index, reason=f"the transaction has {len(tx.inputs)} input(s)"
        )


def legacy_sighash(tx: Transaction, index: int, script_code: bytes, hash_type: int) -> bytes:
    """The pre-segwit signature hash of input ``index`` (32 bytes, internal order), as Core computes it.

    ``script_code`` is the script being executed (the scriptPubKey, or the redeem script of a P2SH input);
    ``hash_type`` is the signature's last byte (any value: the legacy scheme hashes it as a 32-bit integer).
    """
    _check_index(tx, index)
    base = hash_type & 0x1F
    anyone_can_pay = bool(hash_type & SIGHASH_ANYONECANPAY)
    if base == SIGHASH_SINGLE and index >= len(tx.outputs):
        return UINT256_ONE
    parts = [tx.version.to_bytes(4, "little", signed=True)]
    signed_inputs = (index,) if anyone_can_pay else range(len(tx.inputs))
    parts.append(compact_size(len(signed_inputs)))
    code = script_code_without_separators(script_code)
    blank_sequence = base in (SIGHASH_NONE, SIGHASH_SINGLE)
    for number in signed_inputs:
        txin = tx.inputs[number]
        parts.append(txin.prev_txid + txin.vout.to_bytes(4, "little"))
        if number == index:
            parts += (code, txin.sequence.to_bytes(4, "little"))
        else:
            parts += (b"\x00", b"\x00\x00\x00\x00" if blank_sequence else txin.sequence.to_bytes(4, "little"))
    if base == SIGHASH_NONE:
        parts.append(b"\x00")
    elif base == SIGHASH_SINGLE:
        parts.append(compact_size(index + 1))
        parts += [b"\xff" * 8 + b"\x00"] * index  # the outputs before ours: amount -1, empty script
        parts.append(serialize_output(tx.outputs[index]))
    else:
        parts.append(compact_size(len(tx.outputs)))
        parts += [serialize_output(txout) for txout in tx.outputs]
    parts.append(tx.locktime.to_bytes(4, "little"))
    parts.append((hash_type & 0xFFFFFFFF).to_bytes(4, "little"))
    return sha256d(b"".join(parts))


def segwit_v0_sighash(
    tx: Transaction,
    index: int,
    script_code: bytes,
    amount: int,
    hash_type: int,
    cache: SighashCache | None = None,
) -> bytes:
    """The BIP-143 signature hash of input ``index`` spending ``amount`` satoshis under ``script_code``."""
    _check_index(tx, index)
    if cache is None or cache.tx is not tx:
        cache = SighashCache(tx)
    base = hash_type & 0x1F
    anyone_can_pay = bool(hash_type & SIGHASH_ANYONECANPAY)
    prevouts = _ZERO32 if anyone_can_pay else cache.bip143_prevouts
    sequences = cache.bip143_sequences if not anyone_can_pay and base not in (SIGHASH_SINGLE, SIGHASH_NONE) else _ZERO32
    if base not in (SIGHASH_SINGLE, SIGHASH_NONE):
        outputs = cache.bip143_outputs
    elif base == SIGHASH_SINGLE and index < len(tx.outputs):
        outputs = sha256d(serialize_output(tx.outputs[index]))
    else:
        outputs = _ZERO32
    txin = tx.inputs[index]
    preimage = b"".join(
        (
            tx.version.to_bytes(4, "little", signed=True),
            prevouts,
            sequences,
            txin.prev_txid,
            txin.vout.to_bytes(4, "little"),
            compact_size(len(script_code)),
            script_code,
            amount.to_bytes(8, "little", signed=True),
            txin.sequence.to_bytes(4, "little"),
            outputs,
            tx.locktime.to_bytes(4, "little"),
            (hash_type & 0xFFFFFFFF).to_bytes(4, "little"),
        )
    )
    return sha256d(preimage)


def taproot_signature_message(
    tx: Transaction,
    index: int,
    spent_outputs: Sequence[TxOut] | None,
    hash_type: int,
    *,
    leaf_hash: bytes | None = None,
    annex: bytes | None = None,
    codesep_pos: int = CODESEP_NONE,
    cache: SighashCache | None = None,
) -> bytes:
    """BIP-341's SigMsg with its epoch byte in front: what ``taproot_sighash`` hashes under the tag TapSighash.

    ``leaf_hash`` selects the script path (BIP-342 extension: leaf hash, key version 0, ``codesep_pos``).
    """
    _check_index(tx, index)
    if hash_type not in TAPROOT_HASH_TYPES:
        raise DecodeError("BTC_SIGHASH_TYPE_INVALID", sighash_type=f"0x{hash_type:02x}", kind="taproot")
    if cache is None or cache.tx is not tx or (spent_outputs is not None and cache.spent_outputs is None):
        cache = SighashCache(tx, spent_outputs)
    spent = cache.spent_outputs
    if spent is None:
        raise DecodeError(
            "BTC_SIGHASH_INPUT_INVALID", index=index, reason="taproot signs every input's spent output; none given"
        )
    base = hash_type & 0x03
    anyone_can_pay = bool(hash_type & SIGHASH_ANYONECANPAY)
    if base == SIGHASH_SINGLE and index >= len(tx.outputs):
        raise DecodeError(
            "BTC_SIGHASH_INPUT_INVALID", index=index, reason="SIGHASH_SINGLE without an output of the same index"
        )
    parts = [
        bytes((0x00, hash_type)),
        tx.version.to_bytes(4, "little", signed=True),
        tx.locktime.to_bytes(4, "little"),
    ]
    if not anyone_can_pay:
        parts += (cache.bip341_prevouts, cache.bip341_amounts, cache.bip341_scripts, cache.bip341_sequences)
    if base not in (SIGHASH_NONE, SIGHASH_SINGLE):
        parts.append(cache.bip341_outputs)
    parts.append(bytes(((2 if leaf_hash is not None else 0) + (1 if annex is not None else 0),)))
    if anyone_can_pay:
        txin = tx.inputs[index]
        parts += (
            txin.prev_txid,
            txin.vout.to_bytes(4, "little"),
            serialize_output(spent[index]),
            txin.sequence.to_bytes(4, "little"),
        )
    else:
        parts.append(index.to_bytes(4, "little"))
    if annex is not None:
        parts.append(sha256(compact_size(len(annex)) + annex).digest())
    if base == SIGHASH_SINGLE:
        parts.append(sha256(serialize_output(tx.outputs[index])).digest())
    if leaf_hash is not None:
        parts += (leaf_hash, b"\x00", codesep_pos.to_bytes(4, "little"))
    return b"".join(parts)


def taproot_sighash(
    tx: Transaction,
    index: int,
    spent_outputs: Sequence[TxOut] | None,
    hash_type: int,
    *,
    leaf_hash: bytes | None = None,
    annex: bytes | None = None,
    codesep_pos: int = CODESEP_NONE,
    cache: SighashCache | None = None,
) -> bytes:
    """The BIP-341 signature hash of input ``index`` (key path, or script path when ``leaf_hash`` is given)."""
    message = taproot_signature_message(
        tx,
        index,
        spent_outputs,
        hash_type,
        leaf_hash=leaf_hash,
        annex=annex,
        codesep_pos=codesep_pos,
        cache=cache,
    )
    return tagged_hash("TapSighash", message)
