"""`wsync` with the fake engine in place of the real one and a fast heartbeat: the process
the subprocess tests start, kill and recover."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jobs_fake_engine

import wsync.jobs.runner as runner

runner.resolve_engine = lambda kind: jobs_fake_engine.run
runner.HEARTBEAT_INTERVAL_S = 0.2

from wsync.cli import main  # noqa: E402

main(sys.argv[1:])
