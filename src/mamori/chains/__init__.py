"""Pure decoders and hashers for the chains mamori protects: no I/O, no clock."""
