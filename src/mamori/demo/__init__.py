"""``mamori demo``: a sample exchange on SQLite, served by the guard, walked through step by step."""
