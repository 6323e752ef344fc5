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
import gc
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
from fastapi import FastAPI

from mamori.api.schemas import WithdrawalRequestBody

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
    dropped: int = 0  # open loop: due while too many were unanswered, never sent

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


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: one request per connection at a time, a pool of
    idle connections, responses framed by Content-Length (uvicorn's JSON answers always carry it). It costs the
    load generator ~0.1 ms of CPU per request where httpx.AsyncClient costs 2-5 ms on this machine kind, which
    would make a 2-core benchmark measure its own client."""

    IDLE_S = 3.0  # below uvicorn's keep-alive timeout (5 s): an older idle connection may be closing

    def __init__(self, base_url: str) -> None:
        url = httpx.URL(base_url)
        self.host, self.port = url.host, url.port or 80
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0

    async def __aenter__(self) -> RawClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            reader, writer, since = self.idle.pop()
            if time.monotonic() - since < self.IDLE_S and not reader.at_eof():
                return reader, writer
            writer.close()
        self.opened += 1
        return await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        reader, writer = await self._connection()
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        head = f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\n{lines}content-length: {len(body)}\r\n\r\n"
        writer.write(head.encode("latin-1") + body)
        try:
            response = await reader.readuntil(b"\r\n\r\n")
            status = int(response[9:12])
            length, close = 0, False
            for line in response.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            writer.close()
            raise httpx.TransportError(f"{type(exc).__name__}: {exc}") from exc
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer, time.monotonic()))
        return status


class HttpxClient:
    """The same interface over httpx.AsyncClient (``--client httpx``), for comparison."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, limits=POOL, timeout=httpx.Timeout(60.0))

    async def __aenter__(self) -> HttpxClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.client.aclose()

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        response = await self.client.post(path, content=body, headers=headers)
        await response.aread()
        return response.status_code


Client = RawClient | HttpxClient
CLIENTS: dict[str, type[RawClient] | type[HttpxClient]] = {"raw": RawClient, "httpx": HttpxClient}


async def _send(client: Client, path: str, body: bytes, headers: dict[str, str]) -> int:
    return await client.post(path, body, headers)


async def _warm(client: Client, path: str, bodies: Iterator[bytes], headers: dict[str, str], n: int) -> int:
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
    max_in_flight: int = 200,
    kind: str = "raw",
) -> tuple[Result, int]:
    """Schedule ``rate * seconds`` requests at their due times and send each when due; one due while
    ``max_in_flight`` are unanswered is dropped (counted, never sent: an overloaded server's queue, and the run's
    length, stay bounded). Returns the result and the warm-up's 200s."""
    headers = {**JSON, **headers}
    result = Result()
    count = round(rate * seconds)
    clock = time.perf_counter  # not loop.time(): uvloop's clock ticks in whole milliseconds
    in_flight = 0
    async with CLIENTS[kind](base_url) as client:
        warmed = await _warm(client, path, bodies, headers, warm)

        async def one(due: float, body: bytes) -> None:
            nonlocal in_flight
            try:
                status = await _send(client, path, body, headers)
            except httpx.HTTPError as exc:
                result.errors[type(exc).__name__] += 1
                return
            finally:
                in_flight -= 1
            result.latencies.append(clock() - due)
            result.offsets.append(due - start)
            result.statuses[status] += 1

        tasks = []
        start = clock() + 0.05
        for i in range(count):
            due = start + i / rate
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            if in_flight >= max_in_flight:
                result.dropped += 1
                continue
            in_flight += 1
            tasks.append(asyncio.create_task(one(due, next(bodies))))
            result.sent += 1
        await asyncio.gather(*tasks)
        result.elapsed = clock() - start
    return result, warmed


async def closed_loop(
    base_url: str,
    path: str,
    bodies: Iterator[bytes],
    headers: dict[str, str],
    *,
    clients: int,
    seconds: float,
    kind: str = "raw",
) -> tuple[Result, int]:
    """``clients`` workers, each sending its next request as soon as the last one is answered."""
    headers = {**JSON, **headers}
    result = Result()
    clock = time.perf_counter
    async with CLIENTS[kind](base_url) as client:
        warmed = await _warm(client, path, bodies, headers, clients)
        start = clock()
        stop = start + seconds

        async def worker() -> None:
            while clock() < stop:
                try:
                    body = next(bodies)
                except StopIteration:
                    result.errors["bodies exhausted"] += 1
                    return
                sent = clock()
                result.sent += 1
                try:
                    status = await _send(client, path, body, headers)
                except httpx.HTTPError as exc:
                    result.errors[type(exc).__name__] += 1
                    continue
                result.latencies.append(clock() - sent)
                result.offsets.append(sent - start)
                result.statuses[status] += 1

        await asyncio.gather(*(worker() for _ in range(clients)))
        result.elapsed = clock() - start
    return result, warmed


def run(coroutine: object) -> tuple[Result, int]:
    """asyncio.run with uvloop when it is installed (uvicorn uses it on the server side too).

    The generator's own objects (thousands of prepared bodies, the results) are moved out of the cyclic
    collector's way first, as ``mamori serve`` does with its own: a full collection in the client would hold back
    every request due meanwhile and be counted as the server's latency."""
    gc.collect()
    gc.freeze()
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    return uvloop.run(coroutine)  # type: ignore[arg-type]


# --- the framework floor ------------------------------------------------------------------------------------------
def floor_app() -> FastAPI:
    """FastAPI with the guard's request model and a sync endpoint (FastAPI's thread pool, as the guard's other
    endpoints): parse and validate the body, return a constant — the framework's own cost. The guard serves
    ``POST /v1/requests`` in front of this machinery (api/app.py SubmitHotPath), so the floor is a reference, not
    a lower bound."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["floor"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(floor_app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
