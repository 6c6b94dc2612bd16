"""A small HTTP/1.1 load generator for loopback benchmarks, run as its own process so the server
under test does not share its interpreter:

    python -m bench.loadgen --port 8000 --concurrency 50 --duration 20 --path-file paths.txt \
        [--header 'Authorization: Bearer ...'] [--warmup 3]

Each of `concurrency` keep-alive connections sends GET requests back to back (closed loop), paths
drawn round-robin from the path file. Prints one JSON object: requests, errors (non-2xx or I/O),
requests/s and latency percentiles in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    status = int(status_line.split()[1])
    length, chunked, close = None, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        key, _, value = line.decode("latin-1").partition(":")
        key = key.strip().lower()
        if key == "content-length":
            length = int(value)
        elif key == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif key == "connection" and "close" in value.lower():
            close = True
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    if close:
        raise ConnectionResetError("connection: close")
    return status


async def _worker(host: str, port: int, paths: list[str], offset: int, headers: str, start_at: float,
                  stop_at: float, latencies: list[float], errors: list[str]) -> None:
    reader = writer = None
    i = offset
    while time.perf_counter() < stop_at:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        path = paths[i % len(paths)]
        i += 1
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{headers}\r\n".encode()
        t0 = time.perf_counter()
        try:
            writer.write(request)
            status = await _read_response(reader)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError) as err:
            if t0 >= start_at:
                errors.append(f"{path}: {err!r}")
            writer.close()
            reader = writer = None
            continue
        elapsed = time.perf_counter() - t0
        if t0 >= start_at:  # after warm-up
            latencies.append(elapsed)
            if not 200 <= status < 300:
                errors.append(f"{path}: HTTP {status}")
    if writer is not None:
        writer.close()


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


async def run(host: str, port: int, paths: list[str], concurrency: int, duration: float, warmup: float,
              headers: list[str]) -> dict:
    hdr = "".join(h.strip() + "\r\n" for h in headers)
    now = time.perf_counter()
    start_at, stop_at = now + warmup, now + warmup + duration
    latencies: list[float] = []
    errors: list[str] = []
    await asyncio.gather(*(_worker(host, port, paths, k * 7919, hdr, start_at, stop_at, latencies, errors)
                           for k in range(concurrency)))
    lat = sorted(latencies)
    ms = lambda q: round(percentile(lat, q) * 1000, 1)  # noqa: E731
    return {"concurrency": concurrency, "duration_s": duration, "requests": len(lat), "errors": len(errors),
            "error_samples": errors[:5], "requests_per_s": round(len(lat) / duration, 1),
            "p50_ms": ms(0.50), "p95_ms": ms(0.95), "p99_ms": ms(0.99), "max_ms": ms(1.0)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.loadgen")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--path-file", required=True, help="one request path per line")
    ap.add_argument("--header", action="append", default=[])
    args = ap.parse_args(argv)
    with open(args.path_file) as f:
        paths = [line.strip() for line in f if line.strip()]
    result = asyncio.run(run(args.host, args.port, paths, args.concurrency, args.duration, args.warmup,
                             args.header))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
