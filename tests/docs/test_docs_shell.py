"""Every shell example in the README and docs/ runs, against a sandbox store, or says why not.

A shell example is a ```sh (bash, shell, console) or untagged block. It runs under
`bash -euo pipefail` in a temporary directory holding a copy of examples/ (the feed's image URLs
pointed at a local image host), with `wsync` on PATH and WSYNC_STORE_URL / WSYNC_CONSUMER_KEY /
WSYNC_CONSUMER_SECRET pointing at a sandbox store started here (a block's own values for those
three are replaced by the sandbox's), and must exit 0; an import it starts in the background must
end completed. The notes on the line above a block (tools/doc_blocks.py):

    <!-- not-run: WHY -->    not run; WHY is required
    <!-- run: empty-dir -->  run in an empty directory instead of a copy of examples/
    <!-- run: servers -->    each line is a server: started on a free port (`--port 0` for the
                             doc's fixed one), it must print its first line (JSON with the keys
                             a `{"key", ...}` in its comment names, when it has one), then
                             SIGTERM must stop it with exit 0
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools.doc_blocks import Block, all_blocks
from tools.docs_regen import copy_examples, wsync_env
from wsync.sandbox import ImageHost, SandboxServer

RUN_MODES = {"empty-dir", "servers"}
STORE_VARS = ("WSYNC_STORE_URL", "WSYNC_CONSUMER_KEY", "WSYNC_CONSUMER_SECRET")
_STORE_ASSIGNMENT = re.compile(r"\b(?P<name>" + "|".join(STORE_VARS) + r")=(?P<value>\S+)")
BLOCK_TIMEOUT_S = 90
SERVER_READY_S = 20

SHELL = [b for b in all_blocks() if b.is_shell]
RUNNABLE = [b for b in SHELL if "not-run" not in b.notes]


def _ids(blocks: list[Block]) -> list[str]:
    return [b.where for b in blocks]


def with_store(text: str, env: dict[str, str]) -> str:
    """The block with its own store URL and keys replaced by the test store's."""
    return _STORE_ASSIGNMENT.sub(lambda m: f"{m['name']}={shlex.quote(env[m['name']])}", text)


def commands(text: str) -> list[str]:
    """A block's command lines, continuation lines joined; blank and comment lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture(scope="module")
def wsync_bin(tmp_path_factory) -> Path:
    """A directory with `wsync` for this interpreter, to put first on PATH."""
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "wsync"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m wsync "$@"\n')
    shim.chmod(0o755)
    return bin_dir


@pytest.fixture
def shop(tmp_path, wsync_bin):
    """A sandbox store, an image host and the environment a block runs in."""
    with SandboxServer() as store, ImageHost() as images:
        # The sandbox's application password, as a merchant exports theirs: `wsync undo` deletes
        # attachments through wp/v2/media with it.
        env = wsync_env(WSYNC_STORE_URL=store.url, WSYNC_CONSUMER_KEY=store.consumer_key,
                        WSYNC_CONSUMER_SECRET=store.consumer_secret, WSYNC_WP_USER=store.wp_user,
                        WSYNC_WP_APP_PASSWORD=store.wp_app_password)
        env["PATH"] = f"{wsync_bin}{os.pathsep}{env.get('PATH', '')}"
        yield {"env": env, "dir": tmp_path / "work", "images": images.url, "store": store}
        _wait_for_jobs(tmp_path / "work" / "wsync.db")


def _jobs(ledger_path: Path) -> list[dict]:
    from wsync.ledger import Ledger
    from wsync.ledger.jobs import JobStore

    if not ledger_path.exists():
        return []
    ledger = Ledger(ledger_path)
    try:
        return JobStore(ledger).list(limit=None)
    finally:
        ledger.close()


def _wait_for_jobs(ledger_path: Path, timeout_s: float = 60) -> list[dict]:
    """Background imports a block started run on after it returns: wait for them to end before
    the store goes away."""
    from wsync.ledger.jobs import TERMINAL

    deadline = time.monotonic() + timeout_s
    while True:
        jobs = _jobs(ledger_path)
        if all(job["status"] in TERMINAL for job in jobs) or time.monotonic() > deadline:
            return jobs
        time.sleep(0.1)


def test_the_docs_have_shell_examples_that_run():
    assert len(RUNNABLE) >= 4, _ids(RUNNABLE)


@pytest.mark.parametrize("block", SHELL, ids=_ids(SHELL))
def test_every_shell_example_runs_or_says_why_not(block):
    if "not-run" in block.notes:
        assert block.notes["not-run"], f"{block.where}: say why it is not run: <!-- not-run: WHY -->"
        assert "run" not in block.notes, f"{block.where}: both run and not-run"
    assert block.run_modes <= RUN_MODES, f"{block.where}: unknown run mode (known: {', '.join(sorted(RUN_MODES))})"


@pytest.mark.parametrize("block", [b for b in RUNNABLE if "servers" not in b.run_modes],
                         ids=_ids([b for b in RUNNABLE if "servers" not in b.run_modes]))
def test_shell_example(block, shop):
    if re.search(r"\bjq\b", block.text) and shutil.which("jq") is None:
        pytest.skip("the example pipes into jq, which is not installed")
    work = shop["dir"]
    if "empty-dir" in block.run_modes:
        work.mkdir()
    else:
        copy_examples(work, shop["images"])
    script = with_store(block.text, shop["env"])
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=shop["env"],
                          capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (f"{block.where} exited {proc.returncode}\n--- script\n{script}"
                                  f"--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}")
    jobs = _wait_for_jobs(work / "wsync.db")
    assert all(job["status"] == "completed" for job in jobs), \
        (block.where, [(job["id"], job["status"], job.get("error_messages")) for job in jobs])


def _tls_pair(directory: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("the example needs a TLS certificate, and openssl is not installed")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(directory / "k.pem"),
                    "-out", str(directory / "c.pem"), "-days", "1", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True, timeout=60)


def on_a_free_port(line: str) -> str:
    """A server line listening on a port of its own choosing (`--port 0`) instead of the fixed
    one the doc names (8080, the default, is often taken): the options under test are the rest."""
    command, sep, comment = line.partition(" #")
    command = re.sub(r"--port(\s+|=)\d+", "--port 0", command)
    if "--port" not in command:
        command = re.sub(r"\bsandbox (serve|proxy)\b", r"sandbox \1 --port 0", command, count=1)
    return command + sep + comment


def _first_line(proc: subprocess.Popen, timeout_s: float) -> str:
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    try:
        if not selector.select(timeout_s):
            return ""
        return proc.stdout.readline()
    finally:
        selector.close()


def _documented_keys(line: str) -> list[str]:
    """`# one JSON line: {"url", "upstream"}` -> ["url", "upstream"]."""
    _, _, comment = line.partition("#")
    m = re.search(r"\{([^}]*)\}", comment)
    return re.findall(r'"([^"]+)"', m.group(1)) if m else []


@pytest.mark.parametrize("block", [b for b in RUNNABLE if "servers" in b.run_modes],
                         ids=_ids([b for b in RUNNABLE if "servers" in b.run_modes]))
def test_server_example(block, shop):
    work = shop["dir"]
    copy_examples(work, shop["images"])
    if re.search(r"\bc\.pem\b", block.text):
        _tls_pair(work)
    env = dict(shop["env"])
    servers = 0
    for line in commands(with_store(block.text, env)):
        if line.startswith("export "):
            for word in shlex.split(line, comments=True)[1:]:
                name, _, value = word.partition("=")
                env[name] = value
            continue
        servers += 1
        line = on_a_free_port(line)
        proc = subprocess.Popen(["bash", "-c", f"exec {line}"], cwd=work, env=env, text=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            first = _first_line(proc, SERVER_READY_S)
            if not first:
                try:
                    code = proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pytest.fail(f"{block.where}: `{line}` printed nothing in {SERVER_READY_S} s")
                pytest.fail(f"{block.where}: `{line}` exited {code} without a line:\n{proc.stderr.read()}")
            keys = _documented_keys(line)
            if "--json" in line.split("#")[0].split():
                doc = json.loads(first)
                missing = [k for k in keys if k not in doc]
                assert not missing, f"{block.where}: `{line}` printed {first!r}, without {missing}"
            else:
                assert "127.0.0.1:" in first, (block.where, line, first)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=20)
            assert code == 0, f"{block.where}: `{line}` exited {code} on SIGTERM: {proc.stderr.read()}"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
    assert servers, f"{block.where}: no server line"


@pytest.mark.skipif(shutil.which("jq") is None, reason="monitor.sh needs jq")
def test_the_monitor_example_follows_a_real_background_import(shop):
    """docs/jobs.md: `examples/monitor.sh` starts a background import and waits for its outcome,
    here with the real wsync, so the `status --json` fields it reads are the ones wsync prints."""
    work = shop["dir"]
    copy_examples(work, shop["images"])
    env = dict(shop["env"], FEED="wholesaler", POLL_SECONDS="0.2")
    proc = subprocess.run(["bash", str(work / "monitor.sh")], cwd=work, env=env, capture_output=True, text=True,
                          timeout=BLOCK_TIMEOUT_S, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.match(r"job 1 completed: processed \d+, created \d+, updated \d+, errors 0\n$", proc.stdout), proc.stdout
    assert "null" not in proc.stdout + proc.stderr, "monitor.sh read a key wsync does not print"
