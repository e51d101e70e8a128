"""`wsync demo`: the whole product on one machine, offline.

An embedded sandbox store and a local image server stand in for a real store and a
wholesaler's CDN; the example feed (wsync/examples_data, also in examples/) is imported as a
real job with its images, and its report returned for `wsync demo` to print. The store, its
uploads and the ledger are kept in the demo directory, so running the demo again shows a re-sync
that changes nothing.
"""

from __future__ import annotations

import shutil
import socket
import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsync.sync.run import Progress

EXAMPLE_CDN = "https://cdn.northwind-wholesale.example"
# Fixed ports keep the image URLs identical between runs (a new port would be a new URL, and so a
# new image); when one is taken the demo still runs, on a free port.
IMAGE_PORT = 47301
STORE_PORT = 47302
DEMO_KEY = "ck_demo0000000000000000000000000000000000"
DEMO_SECRET = "cs_demo0000000000000000000000000000000000"


def _port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return 0


def example_files() -> tuple[str, dict[str, Any]]:
    data = resources.files("wsync") / "examples_data"
    feed = (data / "wholesaler-feed.csv").read_text(encoding="utf-8")
    config = tomllib.loads((data / "wsync.toml").read_text(encoding="utf-8"))
    return feed, config


def run_demo(workdir: Path, *, reset: bool = False, progress: Progress | None = None,
             announce: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Import the example feed into a sandbox store kept in `workdir`, as a real job with its
    images; returns the report `wsync demo` prints: {"success", "job_id", "status", "import"
    (the job's result), "store" (what it holds now), "workdir", "errors"}. `announce` is told
    where the store and the image server listen, once they do."""
    from wsync.config import ImportDefaults, Settings
    from wsync.jobs.runner import run_in_process
    from wsync.redact import register_secret
    from wsync.sandbox import ImageHost, SandboxServer
    from wsync.store import StoreSettings
    from wsync.sync.options import ImportOptions

    workdir = workdir.expanduser().resolve()
    if reset and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    feed_text, config = example_files()
    register_secret(DEMO_SECRET)
    with ImageHost(port=_port(IMAGE_PORT)) as images, \
            SandboxServer(port=_port(STORE_PORT), data=str(workdir / "store.db"), consumer_key=DEMO_KEY,
                          consumer_secret=DEMO_SECRET) as store:
        feed_path = workdir / "wholesaler-feed.csv"
        feed_path.write_text(feed_text.replace(EXAMPLE_CDN, images.url), encoding="utf-8")
        table = dict(config["feeds"]["wholesaler"])
        table["source"] = str(feed_path)
        settings = Settings(
            path=None, base_dir=workdir, ledger_path=workdir / "wsync.db", feeds={"wholesaler": table},
            store=StoreSettings(url=store.url, consumer_key=DEMO_KEY, consumer_secret=DEMO_SECRET),
            import_defaults=ImportDefaults(**{k: v for k, v in config.get("import", {}).items()
                                              if k in ImportDefaults.__dataclass_fields__}))
        opts = ImportOptions(**{k: v for k, v in config.get("import", {}).items()
                                if k in ImportOptions.__dataclass_fields__}).validate()
        data = {"feed": "wholesaler", "options": opts.to_dict()}
        if announce is not None:
            announce(f"sandbox store at {store.url}, image server at {images.url}, data in {workdir}")
        job_id, row, jobs = run_in_process(settings, data, progress=progress)
        stats = store.stats()
        result = row.get("result") or {}
        return {
            "success": row.get("status") == "completed" and bool(result.get("success")),
            "job_id": job_id,
            "status": row.get("status"),
            "import": result,
            "store": {"url": store.url, **stats["counts"], "image_downloads": stats["downloads"].get("ok", 0)},
            "workdir": str(workdir),
            "errors": jobs.errors(job_id, limit=20),
        }
