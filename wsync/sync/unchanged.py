"""When a run may say "nothing to do" without planning: the feed is the one the last complete run
read (HTTP 304, or the same bytes), with the same settings, and that run left nothing undone.

The last two matter as much as the first. A run that failed items, left images unattached or
refused feed records must be followed by one that reads and plans everything again (that is how
a re-run finishes the work, and how its exit code keeps saying what is wrong); and a change to
wsync.toml's feed table (a markup, a mapping) or to the options changes what the same file asks
of the store.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from wsync import __version__
from wsync.sync.options import ImportOptions
from wsync.sync.run import Counts


def feed_fingerprint(job_data: dict[str, Any], feed_table: dict[str, Any] | None) -> str:
    """The settings a run reads its feed with: the job's feed, preset and options, the feed's
    wsync.toml table, and this wsync's version (its mapping may read the same file differently)."""
    doc = {"wsync": __version__, "job": job_data, "feed": feed_table or {}}
    return "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def left_nothing_undone(doc: dict[str, Any], opts: ImportOptions) -> bool:
    """Whether a finished import's result says every item, link and image is where it should be."""
    if not doc.get("success") or doc.get("cancelled") or doc.get("failed") or doc.get("feed_errors"):
        return False
    variations = doc.get("variations") or {}
    if variations.get("failed") or variations.get("skipped") or doc.get("skipped"):
        # A skipped item (new, and --no-create-new; a partial feed's SKU nobody knows) may be on
        # the store by the next run: only a run that looks again finds it.
        return False
    if not opts.process_images and (doc.get("images_scheduled") or doc.get("images_missing")):
        return False  # left to `wsync images process`: the next import must look again
    # Items still lacking images whose URLs failed for good in an earlier, reported job do not
    # count: a re-run would not try them again either (--retry-failed-images changes the options).
    images = doc.get("images") or {}
    return not (images.get("failed_urls") or images.get("failed_items") or doc.get("image_errors"))


def validators(fetch_state: dict[str, Any] | None, fingerprint: str, counts: Counts) -> dict[str, Any]:
    """What feed_state keeps of a run that left nothing undone; `counts` as a re-run would find
    them (what was written or left alone is now unchanged)."""
    state = fetch_state or {}
    found = {"unchanged": counts.created + counts.updated + counts.unchanged,
             "variations_unchanged": counts.variations_created + counts.variations_updated
             + counts.variations_unchanged}
    return {"etag": state.get("etag"), "last_modified": state.get("last_modified"), "digest": state.get("digest"),
            "fingerprint": fingerprint, "counts": found}


def counts_unchanged(state: dict[str, Any] | None) -> Counts:
    """The counts of a run that found the feed unchanged: those its last complete run recorded."""
    counts = Counts()
    try:
        found = json.loads((state or {}).get("last_counts") or "{}")
    except ValueError:
        found = {}
    counts.add("product", "unchanged", int(found.get("unchanged") or 0))
    counts.add("variation", "unchanged", int(found.get("variations_unchanged") or 0))
    return counts
