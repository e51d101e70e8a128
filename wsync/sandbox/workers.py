"""A store with a fixed number of PHP workers, as php-fpm behind nginx.

`pm.max_children` workers each run one request at a time; a request that finds them all busy
waits in the listen queue, and one that finds the queue full is answered 503 at once by the
web server, before PHP sees it (nothing of it runs). `workers = 0` is a store without a limit
(the sandbox's default). The latency model (faults.LatencyModel) is the time a request holds
its worker, so with 2 workers and 100 ms a request, no client gets more than 20 requests a
second out of it, however many it sends at a time.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

DEFAULT_QUEUE = 16


@dataclass
class WorkerModel:
    workers: int = 0              # 0: as many as come
    queue: int = DEFAULT_QUEUE    # requests that may wait for a worker; one more is answered 503

    def validate(self) -> WorkerModel:
        if self.workers < 0 or self.queue < 0:
            raise ValueError("workers and queue must not be negative")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> WorkerModel:
        known = {f.name for f in fields(cls)}
        unknown = set(doc) - known
        if unknown:
            raise ValueError(f"unknown worker field(s): {', '.join(sorted(unknown))}")
        return cls(**{k: int(v) for k, v in doc.items()}).validate()


class WorkerPool:
    """Admits requests to the store's workers: at once, after a wait in the queue, or not at all."""

    def __init__(self, model: WorkerModel | None = None):
        self._cond = threading.Condition()
        self.model = (model or WorkerModel()).validate()
        self.reset()

    def reset(self) -> None:
        with self._cond:
            self.busy = 0
            self.waiting = 0
            self.served = 0
            self.refused = 0
            self.queued = 0
            self.peak_busy = 0
            self.peak_waiting = 0

    def configure(self, model: WorkerModel) -> None:
        with self._cond:
            self.model = model.validate()
            self._cond.notify_all()

    def acquire(self) -> bool:
        """Take a worker, waiting in the queue if need be; False when the queue is full (503)."""
        with self._cond:
            limit = self.model.workers
            if limit > 0 and self.busy >= limit:
                if self.waiting >= self.model.queue:
                    self.refused += 1
                    return False
                self.waiting += 1
                self.queued += 1
                self.peak_waiting = max(self.peak_waiting, self.waiting)
                while self.model.workers > 0 and self.busy >= self.model.workers:
                    self._cond.wait()
                self.waiting -= 1
            self.busy += 1
            self.served += 1
            self.peak_busy = max(self.peak_busy, self.busy)
            return True

    def release(self) -> None:
        with self._cond:
            self.busy -= 1
            self._cond.notify()

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            return {**self.model.to_dict(), "busy": self.busy, "waiting": self.waiting, "served": self.served,
                    "queued": self.queued, "refused": self.refused, "peak_busy": self.peak_busy,
                    "peak_waiting": self.peak_waiting}
