"""Small helpers for the sandbox contract suite."""

from __future__ import annotations

import requests


def sandbox_admin(sandbox, path: str, json=None) -> dict:
    url = f"{sandbox.url}/_sandbox/{path}"
    if json is not None or path != "stats":
        resp = requests.post(url, json=json, timeout=5)
    else:
        resp = requests.get(url, timeout=5)
    resp.raise_for_status()
    return resp.json()
