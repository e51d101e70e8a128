"""A `wsync` for examples/monitor.sh: `import FEED --background --json` schedules a fake-engine
job (options from $FAKE_JOB_DATA) and starts a worker for it, as the real command does; every
other command is the real CLI with the fake engine."""

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
args = sys.argv[1:]
if "import" in args:
    from wsync.jobs import schedule_import
    from wsync.ledger import Ledger

    ledger_path = os.environ["WSYNC_LEDGER"]
    feed = args[args.index("import") + 1]
    job_id = schedule_import(Ledger(ledger_path), feed, json.loads(os.environ.get("FAKE_JOB_DATA", "{}")))
    subprocess.Popen([sys.executable, str(HERE / "jobs_fake_cli.py"), "worker", "--once", "--job", str(job_id)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    print(json.dumps({"success": True, "job_id": job_id}))
else:
    os.execv(sys.executable, [sys.executable, str(HERE / "jobs_fake_cli.py"), *args])
