"""`wsync sandbox serve`: run the WooCommerce-compatible sandbox store in the foreground."""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Optional

import typer

from wsync.cli import common
from wsync.errors import UsageError
from wsync.redact import register_secret

sandbox_app = typer.Typer(help="A local WooCommerce-compatible store for rehearsals, demos and benchmarks.",
                          no_args_is_help=True)


@sandbox_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8080, "--port", help="Port; 0 picks a free one (printed)."),
    data: Optional[str] = typer.Option(None, "--data", help="SQLite file to keep the catalogue in (default: memory)."),
    consumer_key: Optional[str] = typer.Option(None, "--consumer-key", envvar="WSYNC_SANDBOX_CONSUMER_KEY",
                                               help="Read/write key (generated ck_... when not given)."),
    consumer_secret: Optional[str] = typer.Option(None, "--consumer-secret", envvar="WSYNC_SANDBOX_CONSUMER_SECRET",
                                                  help="Its secret (generated cs_... when not given)."),
    tls_cert: Optional[str] = typer.Option(None, "--tls-cert", help="PEM certificate: serve HTTPS."),
    tls_key: Optional[str] = typer.Option(None, "--tls-key", help="PEM private key for --tls-cert."),
    insecure_basic_auth: bool = typer.Option(False, "--insecure-basic-auth",
                                             help="Accept Basic auth over plain HTTP (real stores do not)."),
    error_rate: float = typer.Option(0.0, "--error-rate", help="Share of requests answered with an error status."),
    error_statuses: str = typer.Option("500,502,503,429", "--error-statuses", help="Comma list of statuses to answer."),
    retry_after: int = typer.Option(1, "--retry-after", help="Retry-After seconds on 429/503."),
    hang_rate: float = typer.Option(0.0, "--hang-rate", help="Share of requests that hang, then run anyway."),
    hang_s: float = typer.Option(35.0, "--hang-s", help="How long a hang lasts (seconds)."),
    drop_rate: float = typer.Option(0.0, "--drop-rate", help="Share of requests processed, then dropped unanswered."),
    fault_seed: Optional[int] = typer.Option(None, "--fault-seed", help="Seed: the same faults in the same order."),
    faults_only_writes: bool = typer.Option(False, "--faults-only-writes", help="Faults hit only POST/PUT/DELETE."),
    latency: str = typer.Option("none", "--latency", help="none | realistic | realistic:<scale> (e.g. realistic:0.1)."),
    json_out: bool = typer.Option(False, "--json", help="Print the base URL and keys as one JSON line."),
) -> None:
    """Serve wc/v3 under /wp-json/ (and ?rest_route=) until SIGINT/SIGTERM."""
    from wsync.sandbox import Faults, LatencyModel, SandboxServer

    try:
        statuses = tuple(int(s) for s in error_statuses.split(",") if s.strip())
        faults = Faults(error_rate=error_rate, error_statuses=statuses, retry_after_s=retry_after, hang_rate=hang_rate,
                        hang_s=hang_s, drop_rate=drop_rate, seed=fault_seed, only_writes=faults_only_writes)
    except ValueError as exc:
        raise UsageError(f"fault options: {exc}") from None
    model = _latency(latency)
    for path, flag in ((tls_cert, "--tls-cert"), (tls_key, "--tls-key"), (data and os.path.dirname(os.path.abspath(data)), "--data")):
        if path and not os.path.exists(path):
            raise UsageError(f"{flag}: {path} does not exist")
    try:
        server = SandboxServer(host=host, port=port, data=data, consumer_key=consumer_key,
                               consumer_secret=consumer_secret, faults=faults, latency=model, tls_cert=tls_cert,
                               tls_key=tls_key, insecure_basic_auth=insecure_basic_auth)
        server._bind()
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    # Keys are printed on purpose (that is how a user learns them), so they are not registered
    # as secrets before printing; anything logged afterwards is scrubbed.
    info = {"url": server.url, "consumer_key": server.consumer_key, "consumer_secret": server.consumer_secret,
            "readonly_key": server.readonly_key, "readonly_secret": server.readonly_secret,
            "data": data, "https": server.https}
    if json_out:
        sys.stdout.write(json.dumps(info) + "\n")
    else:
        sys.stdout.write(f"sandbox store at {server.url}  (wc/v3: {server.url}/wp-json/wc/v3/)\n"
                         f"  consumer key     {server.consumer_key}\n  consumer secret  {server.consumer_secret}\n"
                         f"  read-only key    {server.readonly_key}\n  read-only secret {server.readonly_secret}\n"
                         f"  stats            {server.url}/_sandbox/stats\n")
    sys.stdout.flush()
    for secret in (server.consumer_key, server.consumer_secret, server.readonly_key, server.readonly_secret):
        register_secret(secret)

    def _stop(signum, frame):
        server.shutdown_from_signal()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        server.run_forever()
    finally:
        server.stop()
    common.err.print("sandbox store stopped")


def _latency(spec: str):
    from wsync.sandbox import LatencyModel

    name, _, scale = spec.partition(":")
    if name == "none" and not scale:
        return LatencyModel.none()
    if name == "realistic":
        try:
            return LatencyModel.realistic(float(scale) if scale else 1.0)
        except ValueError:
            pass
    raise UsageError(f"--latency: expected none, realistic or realistic:<scale>, got {spec!r}")


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")
