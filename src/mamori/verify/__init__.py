"""Turns decoded transactions into what they really do (a call tree) plus findings with stable codes."""
