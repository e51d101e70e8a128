"""Fault injection and a latency model, so clients can be tested against a misbehaving, slow store.

`Faults` decides per request: answer an error before doing anything, hang then process anyway
(the write lands after the client gave up), or process then drop the connection unanswered.
`LatencyModel` sleeps the time a real store spends, calibrated on the recorded store
(../shared/recordings/README.md: WooCommerce 8.2.2 on 2 cores).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class LatencyModel:
    """Seconds slept per request, per item written, per image sideloaded.

    `per_item_update_s`, `per_item_delete_s` and `per_variation_write_s` default to
    `per_item_write_s` when None.
    """

    per_request_s: float = 0.0
    per_item_write_s: float = 0.0
    per_image_s: float = 0.0
    per_item_update_s: float | None = None
    per_item_delete_s: float | None = None
    per_variation_write_s: float | None = None

    @classmethod
    def none(cls) -> LatencyModel:
        return cls()

    @classmethod
    def realistic(cls, scale: float = 1.0) -> LatencyModel:
        """The recorded store's costs, times `scale` (0.1 makes a benchmark ten times shorter):
        ~80 ms of fixed cost per request (PHP bootstrap; a GET took 90-105 ms), 33 ms per product
        created in a batch, 19 ms per update, 18 ms per delete, 54 ms per variation written,
        150 ms per image sideloaded (100-250 ms: download plus thumbnails)."""
        return cls(
            per_request_s=0.080 * scale,
            per_item_write_s=0.033 * scale,
            per_image_s=0.150 * scale,
            per_item_update_s=0.019 * scale,
            per_item_delete_s=0.018 * scale,
            per_variation_write_s=0.054 * scale,
        )

    def cost(self, creates: int = 0, updates: int = 0, deletes: int = 0, variations: int = 0, images: int = 0) -> float:
        upd = self.per_item_write_s if self.per_item_update_s is None else self.per_item_update_s
        dele = self.per_item_write_s if self.per_item_delete_s is None else self.per_item_delete_s
        var = self.per_item_write_s if self.per_variation_write_s is None else self.per_variation_write_s
        return (self.per_request_s + creates * self.per_item_write_s + updates * upd + deletes * dele
                + variations * var + images * self.per_image_s)

    def item_cost(self, action: str, variation: bool = False, images: int = 0) -> float:
        """One batch item's share of `cost()`: `action` is create, update or delete."""
        if variation:
            per = self.per_item_write_s if self.per_variation_write_s is None else self.per_variation_write_s
        elif action == "update":
            per = self.per_item_write_s if self.per_item_update_s is None else self.per_item_update_s
        elif action == "delete":
            per = self.per_item_write_s if self.per_item_delete_s is None else self.per_item_delete_s
        else:
            per = self.per_item_write_s
        return per + images * self.per_image_s

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict) -> LatencyModel:
        known = {f.name for f in fields(cls)}
        unknown = set(doc) - known
        if unknown:
            raise ValueError(f"unknown latency field(s): {', '.join(sorted(unknown))}")
        return cls(**doc)


@dataclass(frozen=True)
class Faults:
    """Shares (0..1) of requests that fail in each way. Never applied to /_sandbox/* or uploads."""

    error_rate: float = 0.0
    error_statuses: tuple = (500, 502, 503, 429)
    retry_after_s: int = 1
    hang_rate: float = 0.0
    hang_s: float = 35.0
    drop_rate: float = 0.0
    seed: int | None = None
    only_writes: bool = False
    # The next N image sideloads fail as WordPress fails when two requests create the month's
    # uploads folder at once; the request that met it fails its other sideloads too.
    upload_dir_failures: int = 0
    # A store that files every item of a variations batch under the URL's product, whatever
    # product_id the item names (WooCommerce 8.2.2 honours the item's own: recordings/34). Not a
    # request failure: the answers are 200 and wrong, which wsync must notice.
    variations_under_url: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.upload_dir_failures, int) or self.upload_dir_failures < 0:
            raise ValueError(f"upload_dir_failures must be a whole number >= 0, got {self.upload_dir_failures}")
        for name in ("error_rate", "hang_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.error_rate + self.hang_rate + self.drop_rate > 1.0:
            raise ValueError("error_rate + hang_rate + drop_rate must not exceed 1")
        object.__setattr__(self, "error_statuses", tuple(int(s) for s in self.error_statuses))
        if self.error_rate and not self.error_statuses:
            raise ValueError("error_statuses must not be empty when error_rate > 0")

    @property
    def active(self) -> bool:
        return bool(self.error_rate or self.hang_rate or self.drop_rate)

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc["error_statuses"] = list(self.error_statuses)
        return doc

    @classmethod
    def from_dict(cls, doc: dict) -> Faults:
        known = {f.name for f in fields(cls)}
        unknown = set(doc) - known
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        return cls(**doc)


@dataclass
class FaultDecision:
    kind: str  # "none" | "error" | "hang" | "drop"
    status: int = 0
    empty_body: bool = False


@dataclass
class FaultRoller:
    """Draws decisions from one seeded generator, so a seed replays the same fault sequence."""

    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.faults.seed)

    def set(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    def decide(self, is_write: bool) -> FaultDecision:
        f = self.faults
        if not f.active or (f.only_writes and not is_write):
            return FaultDecision("none")
        with self._lock:
            roll = self._rng.random()
            status = self._rng.choice(f.error_statuses) if f.error_statuses else 500
            empty = self._rng.random() < 0.5
        if roll < f.error_rate:
            return FaultDecision("error", status=status, empty_body=empty)
        if roll < f.error_rate + f.hang_rate:
            return FaultDecision("hang")
        if roll < f.error_rate + f.hang_rate + f.drop_rate:
            return FaultDecision("drop")
        return FaultDecision("none")
