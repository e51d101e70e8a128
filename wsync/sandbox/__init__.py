"""A WooCommerce-compatible REST store (wc/v3) for tests, demos and benchmarks.

    from wsync.sandbox import SandboxServer, Faults, LatencyModel
    with SandboxServer(faults=Faults(error_rate=0.1, seed=1)) as store:
        store.url, store.consumer_key, store.consumer_secret, store.stats()
"""

from wsync.sandbox.faultproxy import FaultProxy, ProxyFaults
from wsync.sandbox.faults import Faults, LatencyModel
from wsync.sandbox.imagehost import ImageHost
from wsync.sandbox.server import SandboxServer
from wsync.sandbox.workers import WorkerModel

__all__ = ["FaultProxy", "Faults", "ImageHost", "LatencyModel", "ProxyFaults", "SandboxServer", "WorkerModel"]
