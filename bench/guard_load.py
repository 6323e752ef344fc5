"""HTTP load for bench/bench_guard_http.py: an open-loop generator at a fixed rate, a closed-loop one with N
concurrent clients, and the framework-floor peer (a minimal FastAPI app) run as a child process.

Open loop: request i is due at ``start + i / rate`` and is sent then whatever happened to the earlier ones; its
latency runs from that due time to the end of its response (so a stalled server or a late generator shows up as
latency instead of silently lowering the rate: no coordinated omission). Bodies are serialised before the clock
starts, so the generator does no signing or JSON encoding while it measures.

    .venv/bin/python bench/guard_load.py floor --port 8765   # the framework floor, as the benchmark starts it
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

POOL = httpx.Limits(max_connections=512, max_keepalive_connections=512)
JSON = {"content-type": "application/json"}


@dataclass
class Result:
    """Latencies (seconds) of answered requests, their status codes, and the run's wall time."""

    latencies: list[float] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)  # when each request was due, from the run's start
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    sent: int = 0

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def ok(self) -> int:
        return self.statuses[200]

    def rate(self) -> float:
        return self.answered / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float, latencies: Sequence[float] | None = None) -> float:
        values = sorted(self.latencies if latencies is None else latencies)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(len(values) * q))]

    def window(self, start: float, stop: float) -> list[float]:
        """Latencies of the requests due in [start, stop) of the run (a fraction of its length)."""
        span = max(self.offsets, default=0.0) or 1.0
        return [lat for lat, off in zip(self.latencies, self.offsets, strict=True) if start <= off / span < stop]


async def _send(client: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str]) -> int:
    response = await client.post(path, content=body, headers=headers)
    await response.aread()
    return response.status_code


def _client(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, limits=POOL, timeout=httpx.Timeout(60.0))


async def _warm(client: httpx.AsyncClient, path: str, bodies: Iterator[bytes], headers: dict[str, str], n: int) -> int:
    """Open ``n`` pooled connections (n concurrent requests) before the clock starts; returns how many got 200."""
    codes = await asyncio.gather(*(_send(client, path, next(bodies), headers) for _ in range(n)))
    return sum(code == 200 for code in codes)


async def open_loop(
    base_url: str,
    path: str,
    bodies: Iterator[bytes],
    headers: dict[str, str],
    *,
    rate: float,
    seconds: float,
    warm: int = 8,
) -> tuple[Result, int]:
    """Send ``rate * seconds`` requests at their due times; returns the result and the warm-up 200s."""
    headers = {**JSON, **headers}
    result = Result()
    count = round(rate * seconds)
    async with _client(base_url) as client:
        warmed = await _warm(client, path, bodies, headers, warm)
        loop = asyncio.get_running_loop()

        async def one(due: float, body: bytes) -> None:
            try:
                status = await _send(client, path, body, headers)
            except httpx.HTTPError as exc:
                result.errors[type(exc).__name__] += 1
                return
            result.latencies.append(loop.time() - due)
            result.offsets.append(due - start)
            result.statuses[status] += 1

        tasks = []
        start = loop.time() + 0.05
        for i in range(count):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due, next(bodies))))
            result.sent += 1
        await asyncio.gather(*tasks)
        result.elapsed = loop.time() - start
    return result, warmed


async def closed_loop(
    base_url: str,
    path: str,
    bodies: Iterator[bytes],
    headers: dict[str, str],
    *,
    clients: int,
    seconds: float,
) -> tuple[Result, int]:
    """``clients`` workers, each sending its next request as soon as the last one is answered."""
    headers = {**JSON, **headers}
    result = Result()
    async with _client(base_url) as client:
        warmed = await _warm(client, path, bodies, headers, clients)
        loop = asyncio.get_running_loop()
        start = loop.time()
        stop = start + seconds

        async def worker() -> None:
            while loop.time() < stop:
                try:
                    body = next(bodies)
                except StopIteration:
                    result.errors["bodies exhausted"] += 1
                    return
                sent = loop.time()
                result.sent += 1
                try:
                    status = await _send(client, path, body, headers)
                except httpx.HTTPError as exc:
                    result.errors[type(exc).__name__] += 1
                    continue
                result.latencies.append(loop.time() - sent)
                result.offsets.append(sent - start)
                result.statuses[status] += 1

        await asyncio.gather(*(worker() for _ in range(clients)))
        result.elapsed = loop.time() - start
    return result, warmed


def run(coroutine: object) -> tuple[Result, int]:
    """asyncio.run with uvloop when it is installed (uvicorn uses it on the server side too)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    return uvloop.run(coroutine)  # type: ignore[arg-type]


# --- the framework floor ------------------------------------------------------------------------------------------
def floor_app() -> object:
    """FastAPI with the guard's request model and a sync endpoint (run in the thread pool, as the guard's are):
    parse and validate the body, return a constant."""
    from fastapi import FastAPI

    from mamori.api.schemas import WithdrawalRequestBody

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/v1/requests")
    def submit(body: WithdrawalRequestBody) -> dict[str, str]:
        return {"request_id": "floor", "status": "released"}

    @app.get("/v1/whoami")
    def whoami() -> dict[str, str]:
        return {"role": "floor"}

    return app


class FloorProcess:
    """The floor app under uvicorn in a child process, with ``mamori serve``'s uvicorn settings."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FloorProcess:
        command = [sys.executable, str(Path(__file__).resolve()), "floor", "--port", str(self.port)]
        self.process = subprocess.Popen(command)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the floor app exited with {self.process.returncode}")
            try:
                httpx.get(self.base_url + "/v1/whoami", timeout=1.0)
            except httpx.TransportError:
                time.sleep(0.1)
            else:
                return self
        raise SystemExit("the floor app did not answer within 30 s")

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _traceback: TracebackType | None
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["floor"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(floor_app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
