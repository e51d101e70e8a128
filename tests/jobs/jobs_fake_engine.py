"""A stand-in for wsync.sync.engine.run_import with the same contract: it reads its options
from job_data, resumes from the checkpoint, polls should_stop between batches, reports progress,
counts and item errors through the JobStore, and records each batch it ran (with its pid) in a
file, so tests can tell which process ran which batch."""

from __future__ import annotations

import os
import time

from wsync.errors import WsyncError


def run(job_id, *, ledger, settings, jobs, should_stop):
    data = jobs.get(job_id)["job_data"]
    batches = int(data.get("batches", 3))
    size = int(data.get("batch_size", 10))
    delay = float(data.get("delay", 0.0))
    record = data.get("record")
    errors_at = set(data.get("errors_at", []))
    checkpoint = jobs.get_checkpoint(job_id) or {"done": [], "errors": 0}
    done = list(checkpoint["done"])
    error_count = int(checkpoint.get("errors", 0))
    for batch in range(batches):
        if batch in done:
            continue
        if should_stop():
            return {"stopped": True, "batches_done": len(done)}
        if data.get("fail_at") == batch:
            raise WsyncError(data.get("fail_message", f"the feed went away at batch {batch}"))
        if data.get("crash_at") == batch:
            raise RuntimeError(data.get("fail_message", "boom"))
        time.sleep(delay)
        if record:
            with open(record, "a") as fh:
                fh.write(f"{os.getpid()} {batch}\n")
        if batch in errors_at:
            jobs.add_error(job_id, sku=f"SKU-{batch}", stage="product", code="invalid_price",
                           message=f"price is not a number in batch {batch}")
            error_count += 1
        done.append(batch)
        jobs.save_checkpoint(job_id, {"done": done, "errors": error_count})
        processed = len(done) * size
        jobs.update_progress(job_id, progress=100.0 * len(done) / batches, processed=processed,
                             created=processed // 2, updated=processed - processed // 2, errors=error_count)
    return {"batches": batches, "processed": batches * size}
