"""Withdrawal policy: a YAML language, its validator, and the pure evaluator that decides every withdrawal."""
