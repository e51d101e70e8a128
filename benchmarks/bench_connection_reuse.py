"""Connection reuse: N reads through StoreClient's pooled keep-alive session vs the bare
`woocommerce` package (a new connection per call), against the sandbox with a small per-request latency.

    python benchmarks/bench_connection_reuse.py [--requests 300] [--latency-ms 2] [--tls] [--json]

With --tls the sandbox serves HTTPS (a throwaway self-signed certificate made with the openssl CLI,
verification off), as a real store does: every new connection then pays a TLS handshake.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from woocommerce import API

from wsync.sandbox import LatencyModel, SandboxServer
from wsync.store import StoreClient, StoreSettings


def timed(fn, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="reads per client (default 300)")
    parser.add_argument("--latency-ms", type=float, default=2.0, help="sandbox time per request (default 2 ms)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS (needs the openssl CLI)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="Unverified HTTPS request")  # the bare client, --tls only

    with tempfile.TemporaryDirectory() as tmp:
        tls = _self_signed(Path(tmp)) if args.tls else {}
        return _run(args, tls)


def _self_signed(folder: Path) -> dict:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return {"tls_cert": str(cert), "tls_key": str(key)}


def _run(args: argparse.Namespace, tls: dict) -> int:
    with SandboxServer(latency=LatencyModel(per_request_s=args.latency_ms / 1000), **tls) as store:
        settings = StoreSettings(url=store.url, consumer_key=store.consumer_key, consumer_secret=store.consumer_secret,
                                 verify_tls=not tls)
        with StoreClient(settings) as client:
            client.batch("products/batch", {"create": [{"name": f"Bench {i}", "sku": f"B-{i}"} for i in range(10)]})
            params = {"per_page": 10, "_fields": "id,sku"}
            bare = API(url=store.url, consumer_key=store.consumer_key, consumer_secret=store.consumer_secret,
                       version="wc/v3", timeout=30, verify_ssl=not tls)

            def bare_read():
                response = bare.get("products", params=dict(params))
                response.raise_for_status()

            def pooled_read():
                client.get("products", params=params)

            # warm both paths once (imports, first connection), then measure
            bare_read()
            pooled_read()
            bare_s = timed(bare_read, args.requests)
            pooled_s = timed(pooled_read, args.requests)
    doc = {
        "requests": args.requests, "latency_ms": args.latency_ms, "tls": bool(tls),
        "woocommerce_package_s": round(bare_s, 3), "pooled_session_s": round(pooled_s, 3),
        "woocommerce_package_ms_per_request": round(bare_s / args.requests * 1000, 2),
        "pooled_session_ms_per_request": round(pooled_s / args.requests * 1000, 2),
        "speedup": round(bare_s / pooled_s, 2) if pooled_s else None,
    }
    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"{args.requests} reads over {'https' if tls else 'http'}, "
              f"sandbox latency {args.latency_ms} ms per request")
        print(f"  woocommerce package (new connection per call): {bare_s:.3f} s "
              f"({doc['woocommerce_package_ms_per_request']} ms/request)")
        print(f"  StoreClient (pooled keep-alive session):       {pooled_s:.3f} s "
              f"({doc['pooled_session_ms_per_request']} ms/request)")
        print(f"  ratio: {doc['speedup']}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
