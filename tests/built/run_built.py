"""Call one built handler as Lambda's Python would: run with `python3.12 -S -B` (no site-packages).

argv: function_dir layer_dir runtime_dir event.json answer.json. The path is the built function
(`/var/task`), the built layer (`/opt/python`) and boto3 (what the runtime brings), nothing else.
"""

import json
import sys

function_dir, layer_dir, runtime_dir, event_path, answer_path = sys.argv[1:6]
sys.path[:0] = [function_dir, layer_dir, runtime_dir]


class Context:
    function_name = "built"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:built"
    aws_request_id = "built-request"
    log_group_name = "/aws/lambda/built"
    log_stream_name = "built"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


import app  # type: ignore[import-not-found]  # noqa: E402  (the built function, from the path above)

with open(event_path) as event_file:
    event = json.load(event_file)
answer = app.lambda_handler(event, Context())
with open(answer_path, "w") as answer_file:
    json.dump(
        {
            "answer": answer,
            "modules": sorted(m.__file__ or "" for m in sys.modules.values() if getattr(m, "__file__", None)),
        },
        answer_file,
        default=str,
    )
