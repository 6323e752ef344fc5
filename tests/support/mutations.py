"""Byte-level mutations of valid inputs for property tests: flips, chosen bytes, deletions, insertions,
truncations and duplicated runs — what a damaged or hostile file looks like to a decoder."""

from __future__ import annotations

from hypothesis import strategies as st


@st.composite
def mutations(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not data:
            break
        position = draw(st.integers(min_value=0, max_value=len(data) - 1))
        kind = draw(st.sampled_from(["flip", "set", "delete", "insert", "truncate", "duplicate"]))
        if kind == "flip":
            data[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif kind == "set":
            data[position] = draw(st.sampled_from([0x00, 0x01, 0xFC, 0xFD, 0xFE, 0xFF]))
        elif kind == "delete":
            del data[position : position + draw(st.integers(min_value=1, max_value=40))]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=40))
        elif kind == "truncate":
            del data[position:]
        else:
            end = position + draw(st.integers(min_value=1, max_value=80))
            data[position:position] = data[position:end]
    return bytes(data)
