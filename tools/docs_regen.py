"""Regenerate the program output shown in README.md and docs/*.md from a real run.

    python -m tools.docs_regen           # rewrite every ```text block under <!-- output: NAME -->
    python -m tools.docs_regen --check   # change nothing; show the drift and exit 1 if there is any

The run is one scenario, the way a new user meets wsync: the offline demo, then the example
feed (examples/wsync.toml and its CSV, copied to a temporary directory) against a sandbox store
started here, with the feed's images served by a local image host: preview, import, status, a
changed feed planned and imported again, a background import, the jobs list. Each step runs
`wsync` as its own process, as a user would, on a 100-column terminal.

What differs from run to run is replaced by a placeholder (durations `<t>`, rates `<n>`,
timestamps `YYYY-MM-DDThh:mm:ss+00:00`, the directory it ran in `<cwd>`, ports `<port>`),
keeping table columns aligned where the padding allows. Blocks are compared ignoring the width
of padding and table rules (a longer placeholder can widen a column), so a block is rewritten
only when what it says has changed, and running this twice changes nothing.

tests/docs/test_docs_output.py runs the same scenario and fails when a block has drifted;
tests/docs/test_docs_json_shapes.py checks the documented --json shapes against its JSON.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.doc_blocks import ROOT, Block, doc_files, read_blocks

EXAMPLES = ROOT / "examples"
COLUMNS = "100"           # the terminal width the shown output is rendered for
STEP_TIMEOUT_S = 120
EXAMPLE_CDN = "https://cdn.northwind-wholesale.example"   # as in wsync.demo


def wsync_env(**extra: str) -> dict[str, str]:
    """The environment a step runs in: the caller's, minus any wsync setting of its own (a
    WSYNC_CONFIG or WSYNC_LEDGER left in a shell would change what the docs show)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSYNC_")}
    env.update(COLUMNS=COLUMNS, LINES="50", PYTHONIOENCODING="utf-8", TZ="UTC")
    env.pop("NO_COLOR", None)
    env.pop("FORCE_COLOR", None)
    env.update(extra)
    return env


def copy_examples(workdir: Path, image_url: str | None) -> None:
    """examples/ into workdir; the feed's image URLs pointed at image_url (the example CDN is
    made up: nothing answers there)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for path in EXAMPLES.iterdir():
        if path.is_file():
            shutil.copy2(path, workdir / path.name)
    if image_url:
        feed = workdir / "wholesaler-feed.csv"
        feed.write_text(feed.read_text(encoding="utf-8").replace(EXAMPLE_CDN, image_url), encoding="utf-8")


# -- normalising -------------------------------------------------------------------------------

TIMESTAMP = "YYYY-MM-DDThh:mm:ss+00:00"
SHORT_TIME = "MM-DD hh:mm"
def _jobs_time_and_rate(m: re.Match[str]) -> str:
    # Both columns are right-aligned: keep where each ends, whatever the width of the values.
    time_col = len(m["lead"]) + len(m["t"])
    rate_col = len(m["gap"]) + len(m["r"])
    return "<t>s".rjust(max(time_col, 5)) + "<n>".rjust(max(rate_col, 4))


Replacement = str | Callable[[re.Match[str]], str]
_RULES: list[tuple[re.Pattern[str], Replacement]] = [
    # ISO 8601 timestamps (status), and the jobs table's "11-23 10:59"
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)"), TIMESTAMP),
    (re.compile(r"(?<![\d-])\d\d-\d\d \d\d:\d\d(?![\d:])"), SHORT_TIME),
    # the jobs table's time and rate columns, just before the start time: "15s   340.0" or "0s   -"
    (re.compile(r"(?P<lead> +)(?P<t>\d+s|-)(?P<gap> +)(?P<r>\d+(?:\.\d+)?|-)(?= +" + re.escape(SHORT_TIME) + ")"),
     _jobs_time_and_rate),
    # status: "..., ended T, 15 s, 340.0/min" (the rate is left out when the job took under a second)
    (re.compile(r", \d+ s(?:, \d+(?:\.\d+)?/min)?$", re.M), ", <t> s, <n>/min"),
    # the demo's and the import's report: "duration │ 0.715 s", "duration s   15.327"
    (re.compile(r"(?P<k>\bduration(?: s)?[ │]+)\d+(?:\.\d+)?(?P<u> s\b)?"), r"\g<k><t>\g<u>"),
    (re.compile(r"\b127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    # status: "concurrency auto: 4 in flight (peak 6, at most 8), 180.2 items/s, 1 back-off(s), 2 overload ..."
    (re.compile(r"(?P<k>concurrency \w+: )\d+ in flight \(peak \d+(?P<c>, at most \d+\), )\d+(?:\.\d+)? items/s, "
                r"\d+ back-off\(s\), \d+ overload"),
     r"\g<k><n> in flight (peak <n>\g<c><n> items/s, <n> back-off(s), <n> overload"),
]


def _sub_keep_width(pattern: re.Pattern[str], repl: Replacement, text: str) -> str:
    """re.sub, then give back or take the difference in length from the spaces after the match
    (a table cell's padding), so the columns after it stay where they were."""
    padded = re.compile(f"(?:{pattern.pattern})(?P<_pad> *)", pattern.flags)

    def one(m: re.Match[str]) -> str:
        pad = m.group("_pad")
        new = repl(m) if callable(repl) else m.expand(repl)
        body = len(m.group(0)) - len(pad)
        follows = m.end() < len(m.string) and m.string[m.end()] != "\n"
        if pad and follows:
            pad = " " * max(1, len(pad) + body - len(new))
        return new + pad

    return padded.sub(one, text)


def normalise(text: str, places: dict[str, str] | None = None) -> str:
    """The run's output with what changes between runs replaced by placeholders."""
    for path, name in sorted((places or {}).items(), key=lambda kv: -len(kv[0])):
        text = text.replace(path, name)
    for pattern, repl in _RULES:
        text = _sub_keep_width(pattern, repl, text)
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n") + "\n"


_BOX_RUN = re.compile(r"([\u2500-\u257f])\1+")


def canonical(text: str) -> str:
    """What a block says, without the width of its padding or table rules."""
    lines = (_BOX_RUN.sub(r"\1", re.sub(r"[ \t]+", " ", line)).strip() for line in text.splitlines())
    return "\n".join(lines).strip("\n")


# -- the scenario ------------------------------------------------------------------------------

@dataclass
class Run:
    """What the scenario printed: normalised text per output name, parsed JSON per command."""
    outputs: dict[str, str] = field(default_factory=dict)
    json: list[tuple[list[str], Any]] = field(default_factory=list)    # (argv after `wsync`, document)
    workdir: Path | None = None


class Scenario:
    def __init__(self, workdir: Path, store_env: dict[str, str]):
        self.workdir = workdir
        self.store_env = store_env
        self.run = Run(workdir=workdir)

    def wsync(self, *args: str, name: str | None = None, cwd: Path | None = None,
              expect: int = 0) -> subprocess.CompletedProcess[str]:
        cwd = cwd or self.workdir
        proc = subprocess.run([sys.executable, "-m", "wsync", *args], cwd=cwd, env=wsync_env(**self.store_env),
                              capture_output=True, text=True, timeout=STEP_TIMEOUT_S, stdin=subprocess.DEVNULL)
        if proc.returncode != expect:
            raise RuntimeError(f"`wsync {' '.join(args)}` exited {proc.returncode} (expected {expect}):\n"
                               f"{proc.stdout}\n{proc.stderr}")
        if "--json" in args:
            self.run.json.append((list(args), json.loads(proc.stdout)))
        if name:
            shown = f"$ wsync {' '.join(args)}\n{proc.stdout}"
            self.run.outputs[name] = normalise(shown, {str(cwd.resolve()): "<cwd>", str(cwd): "<cwd>"})
        return proc

    def wait_for_job(self, job_id: int, timeout_s: float = 60) -> None:
        from wsync.ledger import Ledger
        from wsync.ledger.jobs import TERMINAL, JobStore

        ledger = Ledger(self.workdir / "wsync.db")
        try:
            deadline = time.monotonic() + timeout_s
            while (job := JobStore(ledger).get(job_id)) is None or job["status"] not in TERMINAL:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"job {job_id} still {job and job['status']} after {timeout_s} s")
                time.sleep(0.1)
        finally:
            ledger.close()

    def edit_feed(self, change: Callable[[list[dict[str, str]]], None]) -> None:
        path = self.workdir / "wholesaler-feed.csv"
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            header, rows = list(reader.fieldnames or []), list(reader)
        change(rows)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


def _wholesaler_changes(image_url: str) -> Callable[[list[dict[str, str]]], None]:
    """A day later: one cost went up, one size sold out, one product is new."""
    def change(rows: list[dict[str, str]]) -> None:
        by_sku = {row["Item Code"]: row for row in rows}
        by_sku["NW-MUG-01"]["Cost"] = "4.60"
        by_sku["NW-TEE-OAT-S"]["Stock"] = "0"
        new = dict(by_sku["NW-MUG-02"])
        new.update({"Item Code": "NW-MUG-03", "Product Name": "Tin Camp Mug", "Description": "Tin Camp Mug "
                    "from Trailhead.", "Brand": "Trailhead", "Cost": "3.40", "Stock": "60",
                    "Image URLs": f"{image_url}/img/mug-tin.png"})
        rows.insert(rows.index(by_sku["NW-MUG-02"]) + 1, new)
    return change


def run_scenario(workdir: Path) -> Run:
    """Run every step the docs show; returns their normalised output and their JSON."""
    from wsync.sandbox import ImageHost, SandboxServer

    workdir.mkdir(parents=True, exist_ok=True)
    with SandboxServer() as store, ImageHost() as images:
        env = {"WSYNC_STORE_URL": store.url, "WSYNC_CONSUMER_KEY": store.consumer_key,
               "WSYNC_CONSUMER_SECRET": store.consumer_secret}
        shop = workdir / "shop"
        copy_examples(shop, images.url)
        s = Scenario(shop, env)
        demo_dir = workdir / "demo"
        demo_dir.mkdir()
        s.wsync("demo", name="demo", cwd=demo_dir)                 # its own store: ignores the env
        s.wsync("feed", "preview", "wholesaler", "--limit", "5", name="feed-preview")
        s.wsync("import", "wholesaler", "--json")                   # job 1
        s.wsync("status", "1", name="status")
        s.wsync("status", "1", "--json")
        s.edit_feed(_wholesaler_changes(images.url))
        s.wsync("plan", "wholesaler", name="plan")
        s.wsync("plan", "wholesaler", "--json")
        s.wsync("import", "wholesaler", "--only", "price,stock", "--json")   # job 2
        background = s.wsync("import", "wholesaler", "--background", "--json")   # job 3
        s.wait_for_job(json.loads(background.stdout)["job_id"])
        s.wsync("jobs", name="jobs")
        s.wsync("jobs", "--json")
        s.wsync("undo", "2", "--dry-run", "--json")                 # docs/undo.md
        s.wsync("ledger", "rebuild", "--json")
    return s.run


# -- the docs ----------------------------------------------------------------------------------

@dataclass
class Drift:
    block: Block
    name: str
    old: str
    new: str

    def diff(self) -> str:
        return "".join(difflib.unified_diff(self.old.splitlines(keepends=True), self.new.splitlines(keepends=True),
                                            f"{self.block.where} (docs)", f"{self.block.where} (wsync now)"))


def output_blocks(root: Path = ROOT) -> list[Block]:
    return [b for path in doc_files(root) for b in read_blocks(path) if "output" in b.notes]


def find_drift(run: Run, root: Path = ROOT) -> list[Drift]:
    """The output blocks whose text no longer says what the program prints."""
    drift = []
    for block in output_blocks(root):
        name = block.notes["output"]
        if block.lang != "text":
            raise ValueError(f"{block.where}: an output block is tagged ```text, not ```{block.lang}")
        if name not in run.outputs:
            raise ValueError(f"{block.where}: no step named {name!r} in tools/docs_regen.py "
                             f"(there are: {', '.join(sorted(run.outputs))})")
        if canonical(block.text) != canonical(run.outputs[name]):
            drift.append(Drift(block, name, block.text, run.outputs[name]))
    return drift


def rewrite(drift: list[Drift]) -> list[Path]:
    by_path: dict[Path, list[Drift]] = {}
    for d in drift:
        by_path.setdefault(d.block.path, []).append(d)
    for path, items in by_path.items():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        for d in sorted(items, key=lambda d: -d.block.first):
            lines[d.block.first:d.block.last] = d.new.splitlines(keepends=True)
        path.write_text("".join(lines), encoding="utf-8")
    return sorted(by_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.docs_regen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a block has drifted")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wsync-docs-") as tmp:
        run = run_scenario(Path(tmp))
    drift = find_drift(run)
    if not drift:
        print(f"docs up to date ({len(output_blocks())} output blocks)")
        return 0
    if args.check:
        for d in drift:
            sys.stdout.write(d.diff())
        print(f"{len(drift)} output block(s) drifted: run `python -m tools.docs_regen`", file=sys.stderr)
        return 1
    for path in rewrite(drift):
        print(f"rewrote {path.relative_to(ROOT)}")
    for d in drift:
        print(f"  {d.block.where}: {d.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
