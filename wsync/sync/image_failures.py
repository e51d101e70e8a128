"""Whether an image failure is the image's fault (permanent) or the moment's (transient).

Permanent: the URL is dead (404, 410), not an image, too large, a type the store refuses, a URL
the store may not fetch. Nothing changes by asking again soon, so the URL waits for its back-off
(a day) or `--retry-failed-images`.
Transient: the store could not write to its uploads folder (two requests creating the month's
folder at once: WordPress answers "Unable to create directory ... Is its parent directory
writable by the server?" and keeps that error for the rest of the request, recorded on
WooCommerce 8.2.2), or the image server timed out, refused or reset the connection, answered
5xx or 429. Those are tried again in the same job, one image per request, after a short wait,
and again on the next run.
"""

from __future__ import annotations

# Lower-cased fragments of the messages WordPress, WooCommerce and wsync's own probe give.
_TRANSIENT_SIGNS = (
    # WordPress's uploads folder (wp_upload_dir, _wp_handle_upload, wp_handle_sideload)
    "unable to create directory", "is its parent directory writable", "could not be moved to",
    "could not write file", "failed to write file to disk", "missing a temporary folder",
    # the image server, as WordPress's HTTP API reports it (cURL) ...
    "curl error 6:", "curl error 7:", "curl error 28:", "curl error 35:", "curl error 52:", "curl error 55:",
    "curl error 56:", "operation timed out", "failed to connect", "connection reset",
    # ... and the reason phrases of the answers worth asking again
    "internal server error", "bad gateway", "service unavailable", "gateway timeout", "gateway time-out",
    "too many requests",
    # wsync's own probe (HEAD) of a new URL
    "error: http 5", "error: http 429", "error: connectionerror", "error: connecttimeout", "error: readtimeout",
    "error: timeout", "error: chunkedencodingerror", "error: sslerror",
)

# The code of a job's image error says which rule it falls under; the store's own code is in
# its message.
PERMANENT_CODE = "wsync_image_permanent"
TRANSIENT_CODE = "wsync_image_transient"

TRANSIENT_TRIES = 3  # in one job, after the first failure
TRANSIENT_BACKOFF_S = 0.5  # before the first retry; doubled each time, at most 4 s


def is_transient(message: str | None) -> bool:
    text = (message or "").lower()
    return any(sign in text for sign in _TRANSIENT_SIGNS)


def transient_note(tries: int) -> str:
    return (f" [transient: tried {tries} times in this job; tried again on the next run]")


def permanent_note(backoff_s: int) -> str:
    hours = max(1, round(backoff_s / 3600))
    return (f" [permanent: not tried again for {hours} h, or until --retry-failed-images]")
