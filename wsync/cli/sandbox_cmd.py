"""`wsync sandbox serve`: run the WooCommerce-compatible sandbox store in the foreground.
`wsync sandbox proxy`: put a fault-injecting proxy in front of any store."""

from __future__ import annotations

import json
import os
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING

import typer

from wsync.cli import common
from wsync.errors import ConfigError, UsageError
from wsync.redact import redact, register_secret

if TYPE_CHECKING:
    from wsync.sandbox import LatencyModel
    from wsync.sandbox.serving import ServerLifecycle

sandbox_app = typer.Typer(help="A local WooCommerce-compatible store for rehearsals, demos and benchmarks.",
                          no_args_is_help=True)


@sandbox_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8080, "--port", help="Port; 0 picks a free one (printed)."),
    data: str | None = typer.Option(None, "--data", help="SQLite file to keep the catalogue in (default: memory)."),
    consumer_key: str | None = typer.Option(None, "--consumer-key", envvar="WSYNC_SANDBOX_CONSUMER_KEY",
                                               help="Read/write key (generated ck_... when not given)."),
    consumer_secret: str | None = typer.Option(None, "--consumer-secret", envvar="WSYNC_SANDBOX_CONSUMER_SECRET",
                                                  help="Its secret (generated cs_... when not given)."),
    tls_cert: str | None = typer.Option(None, "--tls-cert", help="PEM certificate: serve HTTPS."),
    tls_key: str | None = typer.Option(None, "--tls-key", help="PEM private key for --tls-cert."),
    insecure_basic_auth: bool = typer.Option(False, "--insecure-basic-auth",
                                             help="Accept Basic auth over plain HTTP (real stores do not)."),
    error_rate: float = typer.Option(0.0, "--error-rate", help="Share of requests answered with an error status."),
    error_statuses: str = typer.Option("500,502,503,429", "--error-statuses", help="Comma list of statuses to answer."),
    retry_after: int = typer.Option(1, "--retry-after", help="Retry-After seconds on 429/503."),
    hang_rate: float = typer.Option(0.0, "--hang-rate", help="Share of requests that hang, then run anyway."),
    hang_s: float = typer.Option(35.0, "--hang-s", help="How long a hang lasts (seconds)."),
    drop_rate: float = typer.Option(0.0, "--drop-rate", help="Share of requests processed, then dropped unanswered."),
    fault_seed: int | None = typer.Option(None, "--fault-seed", help="Seed: the same faults in the same order."),
    faults_only_writes: bool = typer.Option(False, "--faults-only-writes", help="Faults hit only POST/PUT/DELETE."),
    latency: str = typer.Option("none", "--latency", help="none | realistic | realistic:<scale> (e.g. realistic:0.1)."),
    workers: int = typer.Option(0, "--workers", help="PHP workers (php-fpm max_children); 0: no limit."),
    worker_queue: int = typer.Option(16, "--worker-queue",
                                     help="Requests that may wait for a worker; one more is answered 503."),
    json_out: bool = typer.Option(False, "--json", help="Print the base URL and keys as one JSON line."),
) -> None:
    """Serve wc/v3 under /wp-json/ (and ?rest_route=) until SIGINT/SIGTERM."""
    from wsync.sandbox import Faults, SandboxServer, WorkerModel

    try:
        statuses = tuple(int(s) for s in error_statuses.split(",") if s.strip())
        faults = Faults(error_rate=error_rate, error_statuses=statuses, retry_after_s=retry_after, hang_rate=hang_rate,
                        hang_s=hang_s, drop_rate=drop_rate, seed=fault_seed, only_writes=faults_only_writes)
    except ValueError as exc:
        raise UsageError(f"fault options: {exc}") from None
    model = _latency(latency)
    data_dir = data and os.path.dirname(os.path.abspath(data))
    for path, flag in ((tls_cert, "--tls-cert"), (tls_key, "--tls-key"), (data_dir, "--data")):
        if path and not os.path.exists(path):
            raise UsageError(f"{flag}: {path} does not exist")
    try:
        server = SandboxServer(host=host, port=port, data=data, consumer_key=consumer_key,
                               consumer_secret=consumer_secret, faults=faults, latency=model, tls_cert=tls_cert,
                               tls_key=tls_key, insecure_basic_auth=insecure_basic_auth,
                               workers=WorkerModel(workers=workers, queue=worker_queue))
        server.bind()
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _stop_on_signals(server)
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
    try:
        server.run_forever()
    finally:
        server.stop()
    common.err.print("sandbox store stopped")


@sandbox_app.command("proxy")
def proxy(
    upstream: str = typer.Option(..., "--upstream", help="The store's home URL (the sandbox's or a real store's)."),
    port: int = typer.Option(0, "--port", help="Port on 127.0.0.1; 0 picks a free one (printed)."),
    consumer_key: str | None = typer.Option(None, "--consumer-key", envvar="WSYNC_CONSUMER_KEY", show_default=False,
                                               help="The store's read/write key: the proxy signs every request."),
    consumer_secret: str | None = typer.Option(None, "--consumer-secret", envvar="WSYNC_CONSUMER_SECRET",
                                                  show_default=False, help="Its secret."),
    error_rate: float = typer.Option(0.0, "--error-rate", help="Share answered 500/502/503 without forwarding."),
    error_statuses: str = typer.Option("500,502,503", "--error-statuses", help="Comma list of statuses to answer."),
    rate_limit_rate: float = typer.Option(0.0, "--rate-limit-rate", help="Share answered 429 without forwarding."),
    retry_after: int = typer.Option(1, "--retry-after", help="Retry-After seconds on 429/503."),
    hang_rate: float = typer.Option(0.0, "--hang-rate", help="Share held for --hang-s, then forwarded anyway."),
    hang_s: float = typer.Option(35.0, "--hang-s", help="How long a hang lasts (seconds)."),
    drop_rate: float = typer.Option(0.0, "--drop-rate", help="Share forwarded, then dropped unanswered."),
    cut_rate: float = typer.Option(0.0, "--cut-rate", help="Share cut off mid-request (the store finishes them)."),
    cut_after_s: float = typer.Option(0.2, "--cut-after-s", help="When a cut happens (seconds)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed: the same faults in the same order."),
    only_writes: bool = typer.Option(False, "--only-writes", help="Faults hit only POST/PUT/PATCH/DELETE."),
    insecure: bool = typer.Option(False, "--insecure", help="Skip TLS verification of an https upstream."),
    allow_insecure_http: bool = typer.Option(False, "--allow-insecure-http",
                                             help="Allow a plain-HTTP upstream on another machine."),
    json_out: bool = typer.Option(False, "--json", help="Print the proxy URL and the upstream as one JSON line."),
) -> None:
    """Put a fault-injecting proxy in front of a store until SIGINT/SIGTERM (faults: POST /_proxy/faults)."""
    from wsync.sandbox import FaultProxy, ProxyFaults
    from wsync.store.errors import PlainHttpRefused

    register_secret(consumer_key)
    register_secret(consumer_secret)
    if not consumer_key or not consumer_secret:
        raise UsageError("the store's keys are needed: --consumer-key/--consumer-secret or "
                         "WSYNC_CONSUMER_KEY/WSYNC_CONSUMER_SECRET")
    try:
        statuses = tuple(int(s) for s in error_statuses.split(",") if s.strip())
    except ValueError:
        raise UsageError(f"--error-statuses: expected a comma list of HTTP statuses, got {error_statuses!r}") from None
    try:
        faults = ProxyFaults(error_rate=error_rate, error_statuses=statuses, rate_limit_rate=rate_limit_rate,
                             retry_after_s=retry_after, hang_rate=hang_rate, hang_s=hang_s, drop_rate=drop_rate,
                             cut_rate=cut_rate, cut_after_s=cut_after_s, seed=seed, only_writes=only_writes)
    except ValueError as exc:
        raise UsageError(f"fault options: {exc}") from None
    verify = not (insecure or common.STATE.insecure)
    if not verify:
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    try:
        server = FaultProxy(upstream, consumer_key, consumer_secret, faults, port=port, verify=verify,
                            allow_insecure_http=allow_insecure_http)
    except PlainHttpRefused:
        raise UsageError(f"--upstream: refusing plain HTTP to {redact(upstream)}: the key and every product would "
                         "cross the network unprotected",
                         hint="use https://, or pass --allow-insecure-http if the network is trusted") from None
    except ConfigError as exc:
        # Its message names the config key ([store.url]); here the option is what the user typed.
        raise UsageError(f"--upstream: {exc.message.split('] ', 1)[-1] if exc.key else exc.message}",
                         hint=exc.hint) from None
    try:
        server.bind()
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    _stop_on_signals(server)
    _print_proxy(server.url, server.upstream_url, json_out)
    try:
        server.run_forever()
    finally:
        server.stop()
    common.err.print("fault proxy stopped")


def _stop_on_signals(server: ServerLifecycle) -> None:
    """SIGTERM / SIGINT stop the server cleanly. Installed before its address is printed: a
    caller that reads the address and stops it at once gets a clean stop, not a kill."""
    def _stop(signum: int, frame: FrameType | None) -> None:
        server.shutdown_from_signal()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)


def _print_proxy(url: str, upstream: str, json_out: bool) -> None:
    upstream = redact(upstream)  # the URL may carry user:password@
    if json_out:
        sys.stdout.write(json.dumps({"url": url, "upstream": upstream}) + "\n")
    else:
        sys.stdout.write(f"fault proxy at {url} -> {upstream}\n"
                         f"  stats   GET  {url}/_proxy/stats\n  faults  POST {url}/_proxy/faults\n")
    sys.stdout.flush()


def _latency(spec: str) -> LatencyModel:
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
