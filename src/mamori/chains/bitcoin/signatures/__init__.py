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

The package: :mod:`.model` (the verdicts, problems and result records), :mod:`.spend` (the spent output and how
the input is signed: scheme, script code, quorum, keys), :mod:`.checker` (:func:`check_input_signatures` and
:func:`check_all_signatures`: the ECDSA and Schnorr verification) and :mod:`.encoding` (strict DER, taproot
control blocks). What ``__all__`` lists here is the public interface; the other names of those modules serve the
package itself.
"""

from __future__ import annotations

from mamori.chains.bitcoin.signatures.checker import check_all_signatures, check_input_signatures
from mamori.chains.bitcoin.signatures.encoding import SECP256K1_N, encode_der_signature, parse_der_signature
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

__all__ = [
    "SECP256K1_N",
    "InputProblem",
    "InputSignatures",
    "SignatureCheck",
    "SignatureProblem",
    "SignatureVerdict",
    "SpendKind",
    "TapLeafCheck",
    "UtxoSource",
    "check_all_signatures",
    "check_input_signatures",
    "encode_der_signature",
    "parse_der_signature",
]
