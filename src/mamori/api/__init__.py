"""The HTTP edge of the guard service (FastAPI): ``create_app`` over :class:`mamori.service.guard.GuardServices`."""
