"""Group commit: submissions that arrive together are decided in one transaction by one writer thread.

Every decision must hold the audit log's lock from its first read (velocity counters) to its commit, so decisions
are serial whatever the number of threads; what a batch shares is everything paid once per transaction — the
lock, the log's frontier, the durable commit (an fsync). A submission is answered only after the commit that
holds it, so "acknowledged" still means "durable". Under light load a batch holds one submission, and the cost
is one hand-over between threads.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from mamori.errors import MamoriError

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """``run(item)`` blocks until ``process(batch)`` — called on the writer thread with up to ``max_batch`` items
    waiting together — has returned the item's result (or the error to raise in its caller)."""

    def __init__(self, process: Callable[[list[Item]], list[Result | MamoriError]], *, max_batch: int = 64) -> None:
        self._process = process
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[Item, Future[Result]]] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._start = threading.Lock()

    def run(self, item: Item) -> Result:
        return self._submit(item).result()

    async def run_async(self, item: Item) -> Result:
        """:meth:`run` for a coroutine: the event loop goes on serving while the batch is decided."""
        return await asyncio.wrap_future(self._submit(item))

    def _submit(self, item: Item) -> Future[Result]:
        self._ensure_writer()
        future: Future[Result] = Future()
        self._queue.put((item, future))
        return future

    def _ensure_writer(self) -> None:
        if self._writer is None:
            with self._start:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._loop, name="mamori-group-commit", daemon=True)
                    self._writer.start()

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._settle(batch)

    def _settle(self, batch: list[tuple[Item, Future[Result]]]) -> None:
        try:
            results = self._process([item for item, _ in batch])
        except MamoriError as exc:  # the transaction failed as a whole: nothing of the batch was stored
            for _, future in batch:
                future.set_exception(exc)
            return
        except Exception as exc:  # noqa: BLE001 - the writer must survive, and every caller must get an answer
            error = MamoriError("INTERNAL_ERROR", reason=type(exc).__name__)
            for _, future in batch:
                future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if isinstance(result, MamoriError):
                future.set_exception(result)
            else:
                future.set_result(result)
