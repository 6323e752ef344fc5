"""Bitcoin: transactions, PSBTs (BIP-174 and BIP-370), scripts, signature hashes and signature checks.

Pure decoders and checkers: bytes in, frozen values out, no I/O. The verification layer builds its findings on
``psbt.parse_psbt`` and ``signatures.check_input_signatures``.
"""
