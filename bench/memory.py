"""(e) Peak memory of one poll of a 10-page project (1,000 open issues, 100 a page).

The poll runs in a fresh process that holds only the poller, as a Lambda container does: it
imports functions/poller/app.py from its folder, builds its ports from the environment on the
first call (wiring.build_poll_context) and polls once. GitHub (the loopback stand-in) and AWS
(moto's ThreadedMotoServer, reached through AWS_ENDPOINT_URL) live in this, the parent,
process, so their memory is not counted. The poll is the project's first: ten pages answered
200, 50 eligible issues claimed and enqueued.

- `poll_peak_mb`: tracemalloc's peak over the handler call (Python allocations of the poll,
  including building the boto3 clients on first use).
- `process_max_rss_mb`: the process's peak resident set after the poll (VmHWM on Linux, else
  ru_maxrss): the interpreter, every import and the poll, which is what Lambda reports as
  "Max Memory Used".
"""

from __future__ import annotations

import json
import logging
import subprocess
from typing import Any

import boto3

from intake_dev.fake_github import FakeGitHub
from intake_dev.template import REPO_ROOT, create_resources
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.domain.clock import SystemClock
from tracker_intake.domain.config import ProjectConfig

from .common import LABEL, PYTHON, TOKEN, add_issues

TARGETS = {"poll_peak_mb": "< 256", "process_max_rss_mb": "< 256"}
ISSUES = 1000
ELIGIBLE_EVERY = 20

_POLL = r"""
import json, resource, sys, time, tracemalloc, uuid

import app


class Context:
    function_name = "PollerFunction"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:PollerFunction"
    aws_request_id = str(uuid.uuid4())

    def __init__(self):
        self._deadline = time.monotonic() + 60

    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)


def peak_rss_kb():
    # VmHWM is this process's own high-water mark; ru_maxrss can carry the parent's over exec.
    try:
        with open("/proc/self/status") as f:
            return int(next(line for line in f if line.startswith("VmHWM:")).split()[1])
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


rss_before = peak_rss_kb()
tracemalloc.start()
result = app.lambda_handler({"projectId": sys.argv[1]}, Context())
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
rss_after = peak_rss_kb()
print(json.dumps({"result": result, "peak": peak, "rss_before_kb": rss_before, "rss_after_kb": rss_after}))
"""


def run() -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
        names = create_resources(dynamodb, boto3.client("sqs", endpoint_url=endpoint))
        intake = {"enabled": True, "repo": "acme/big", "labels": [LABEL], "maxSessionsPerPoll": 100}
        DynamoStore(names["table_name"], client=dynamodb).create_project(
            "big", ProjectConfig.model_validate({"trackerIntake": intake}), SystemClock().now()
        )
        with FakeGitHub() as github:
            eligible = add_issues(github.add_repo("acme", "big"), ISSUES, eligible_every=ELIGIBLE_EVERY)
            env = {
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_ENDPOINT_URL": endpoint,
                "POWERTOOLS_SERVICE_NAME": "tracker-intake",
                "POWERTOOLS_METRICS_NAMESPACE": "TrackerIntakeBench",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "TABLE_NAME": names["table_name"],
                "ACTIVITY_TABLE_NAME": names["activity_table_name"],
                "QUEUE_URL": names["queue_url"],
                "GITHUB_API_URL": github.base_url,
                "GITHUB_TOKEN": TOKEN,
                "MAX_PAGES_PER_POLL": "10",
            }
            done = subprocess.run(
                [PYTHON, "-c", _POLL, "big"],
                cwd=REPO_ROOT / "functions" / "poller",
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=300,
            )
    finally:
        server.stop()
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    result = measured["result"]
    if result["pages"] != 10 or len(result["newSessions"]) != eligible:
        raise RuntimeError(f"the poll read {result['pages']} pages and enqueued {len(result['newSessions'])}")
    return {
        "poll_peak_mb": round(measured["peak"] / 2**20, 1),
        "process_max_rss_mb": round(measured["rss_after_kb"] / 1024, 1),
        "rss_before_poll_mb": round(measured["rss_before_kb"] / 1024, 1),
        "pages": result["pages"],
        "issues": ISSUES,
        "enqueued": len(result["newSessions"]),
        "lambda_memory_mb": 256,
        "path": "fresh process, `import app` in functions/poller, ports from the environment, one handler call; "
        "tracemalloc peak over the call and the process's peak RSS (VmHWM)",
    }
