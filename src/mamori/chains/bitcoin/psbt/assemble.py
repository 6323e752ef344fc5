"""What a parsed PSBT describes: its lock time as BIP-370 determines it, the unsigned transaction and its id,
and the final transaction once every input is finalized."""

from __future__ import annotations

from mamori.chains.bitcoin.psbt.model import Psbt
from mamori.chains.bitcoin.transaction import SEQUENCE_FINAL, Transaction, TxIn, TxOut
from mamori.chains.bitcoin.transaction import txid as _txid
from mamori.errors import DecodeError

# --- what the PSBT describes --------------------------------------------------------------------------------------


def locktime(psbt: Psbt) -> int:
    """The transaction's nLockTime: version 0's unsigned transaction's; for version 2 as BIP-370 determines it.

    Raises PSBT_LOCKTIME_CONFLICT when some input requires a height and another a time and none takes both.
    """
    if psbt.unsigned_tx is not None:
        return psbt.unsigned_tx.locktime
    heights = [txin.required_height_locktime for txin in psbt.inputs]
    times = [txin.required_time_locktime for txin in psbt.inputs]
    if all(height is None for height in heights) and all(time is None for time in times):
        return psbt.fallback_locktime or 0
    # An input that names one kind only rules the other kind out; one that names none or both takes either.
    height_possible = all(height is not None or time is None for height, time in zip(heights, times, strict=True))
    time_possible = all(time is not None or height is None for height, time in zip(heights, times, strict=True))
    if height_possible:  # preferred when both are possible (BIP-370)
        return max(height for height in heights if height is not None)
    if time_possible:
        return max(time for time in times if time is not None)
    raise DecodeError(
        "PSBT_LOCKTIME_CONFLICT",
        reason="one input requires a block height only and another a time only",
    )


def unsigned_transaction(psbt: Psbt) -> Transaction:
    """The transaction the signers sign: version 0's unsigned transaction, or assembled from version 2's fields."""
    if psbt.unsigned_tx is not None:
        return psbt.unsigned_tx
    return _assemble(psbt, sequences_zero=False)


def unsigned_txid(psbt: Psbt) -> bytes:
    """The PSBT's identifier (internal byte order): its unsigned transaction's txid.

    For version 2 this is BIP-370's unique identification, in which every sequence is set to 0 (sequences may still
    change); the txid of the transaction being signed is ``txid(unsigned_transaction(psbt))``.
    """
    if psbt.unsigned_tx is not None:
        return _txid(psbt.unsigned_tx)
    return _txid(_assemble(psbt, sequences_zero=True))


def _assemble(psbt: Psbt, *, sequences_zero: bool) -> Transaction:
    inputs = tuple(
        TxIn(
            txin.previous_txid or bytes(32),
            txin.output_index or 0,
            b"",
            0 if sequences_zero else SEQUENCE_FINAL if txin.sequence is None else txin.sequence,
        )
        for txin in psbt.inputs
    )
    outputs = tuple(TxOut(txout.amount or 0, txout.script or b"") for txout in psbt.outputs)
    return Transaction(psbt.tx_version or 0, inputs, outputs, locktime(psbt))


def extract_transaction(psbt: Psbt) -> Transaction:
    """BIP-174's Extractor: the network transaction of a PSBT whose every input has a final scriptSig or witness."""
    tx = unsigned_transaction(psbt)
    inputs: list[TxIn] = []
    for index, (txin, fields) in enumerate(zip(tx.inputs, psbt.inputs, strict=True)):
        if fields.final_script_sig is None and fields.final_script_witness is None:
            raise DecodeError("PSBT_INPUT_NOT_FINAL", index=index)
        inputs.append(
            TxIn(
                txin.prev_txid,
                txin.vout,
                fields.final_script_sig or b"",
                txin.sequence,
                fields.final_script_witness or (),
            )
        )
    return Transaction(tx.version, tuple(inputs), tx.outputs, tx.locktime)
