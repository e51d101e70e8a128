"""Import options: what a job was asked to do. Stored in the job's `job_data`, so a resumed job
does exactly what the original was asked to."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from wsync.errors import UsageError
from wsync.store.limiter import DEFAULT_CEILING, MAX_CEILING, FixedLimit, make_limit

MISSING_ACTIONS = ("keep", "outofstock", "draft", "trash")
ONLY_FIELDS = ("price", "stock")
STORE_BATCH_LIMIT = 100  # woocommerce_rest_batch_items_limit: over it the whole request is refused (413)
# Products a job plans and pushes together (wsync.sync.run.windows), unless --max-memory sizes it.
DEFAULT_WINDOW = 500
# What a window costs in memory per product, measured with benchmarks/bench_big_feed.py (a
# variable product with five variations: the objects, plans, payloads and ledger records), and
# what the process needs whatever the window (the interpreter, libraries, SQLite caches).
WINDOW_BYTES_PER_PRODUCT = 60_000
BASE_MEMORY_MB = 120
MIN_MEMORY_MB = 160


@dataclass
class ImportOptions:
    products_per_batch: int = 50
    variations_per_batch: int = 25
    images_per_batch: int = 5
    # Variations of several parents in one variations/batch request, each naming its product_id
    # (wsync.sync.phases.variations); false: one parent's variations per request.
    variations_across_parents: bool = True
    # "auto": found as the job goes, up to concurrency_max (wsync.store.limiter); a number pins it.
    concurrency: int | str = "auto"
    concurrency_max: int = DEFAULT_CEILING
    process_images: bool = True
    update_existing: bool = True
    create_new: bool = True
    force: bool = False
    only: list[str] = field(default_factory=list)  # [] = all fields; else subset of ONLY_FIELDS
    missing: str = "keep"
    allow_mass_change: bool = False
    stale_variations: str = "delete"
    total_batches: int | None = None  # limit the job to the first N product batches of the feed
    max_errors: int | None = None
    retry_failed_images: bool = False
    image_retry_after_s: int = 86_400  # a URL that failed is tried again after a day
    probe_images: bool = True  # check new image URLs before the store downloads them
    settle_s: float | None = None  # wait before reconciling an ambiguous write (default: read timeout)
    max_memory_mb: int | None = None  # --max-memory: the window of products is sized to fit
    window: int | None = None  # pins the products per window (tests, rehearsals)

    def window_size(self) -> int:
        """Products per window: pinned, the default, or what fits --max-memory after the fixed part."""
        if self.window is not None:
            return max(1, self.window)
        if self.max_memory_mb is None:
            return DEFAULT_WINDOW
        room = (self.max_memory_mb - BASE_MEMORY_MB) * 1024 * 1024
        return max(20, min(5000, room // WINDOW_BYTES_PER_PRODUCT))

    def validate(self) -> ImportOptions:
        for name, limit in (("products_per_batch", STORE_BATCH_LIMIT), ("variations_per_batch", STORE_BATCH_LIMIT),
                            ("images_per_batch", STORE_BATCH_LIMIT)):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= limit:
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{flag} must be between 1 and {limit} (WooCommerce refuses larger batches), "
                                 f"got {value}")
        self.concurrency = parse_concurrency(self.concurrency)
        if not isinstance(self.concurrency_max, int) or not 1 <= self.concurrency_max <= MAX_CEILING:
            raise UsageError(f"concurrency_max must be between 1 and {MAX_CEILING}, got {self.concurrency_max}")
        if self.missing not in MISSING_ACTIONS:
            raise UsageError(f"--missing must be one of {', '.join(MISSING_ACTIONS)}, got {self.missing!r}")
        if self.stale_variations not in ("delete", "keep"):
            raise UsageError(f"--stale-variations must be delete or keep, got {self.stale_variations!r}")
        bad = [f for f in self.only if f not in ONLY_FIELDS]
        if bad:
            raise UsageError(f"--only takes {', '.join(ONLY_FIELDS)}; unknown: {', '.join(bad)}")
        if self.total_batches is not None and self.total_batches < 1:
            raise UsageError("--total-batches must be at least 1")
        if self.max_memory_mb is not None and self.max_memory_mb < MIN_MEMORY_MB:
            raise UsageError(f"--max-memory must be at least {MIN_MEMORY_MB} MB (the interpreter, its libraries and "
                             f"the smallest window), got {self.max_memory_mb} MB")
        if not self.update_existing and not self.create_new:
            raise UsageError("--no-update-existing with --no-create-new leaves nothing to do")
        return self

    def limit(self) -> FixedLimit:
        """A new limit for one job: adaptive under "auto", else pinned."""
        return make_limit(parse_concurrency(self.concurrency), self.concurrency_max)

    def pool_size(self) -> int:
        """Threads and kept-alive connections a job needs: the most it may keep in flight."""
        value = parse_concurrency(self.concurrency)
        return self.concurrency_max if value == "auto" else int(value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportOptions:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def parse_concurrency(value: Any) -> int | str:
    """`--concurrency auto|N`: "auto", or a whole number from 1 to 16 (a job stored before
    "auto" existed holds a number, and runs as it did)."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CEILING:
        raise UsageError(f"--concurrency must be auto or a number between 1 and {MAX_CEILING}, got {value!r}")
    return value
