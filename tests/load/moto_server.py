"""moto's ThreadedMotoServer on 127.0.0.1 (a free port), run as its own process for the load test.

Prints the port, serves until stdin closes. Its own process gives moto's request handling the
second core instead of sharing one interpreter lock with the code under test.

`--partition-query`: moto's Query reads only the queried partition (see
intake_dev.moto_partition_query); `make load` turns it on for the full-size run.
"""

from __future__ import annotations

import gc
import logging
import sys
from contextlib import nullcontext


def main(argv: list[str]) -> None:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    from intake_dev.moto_partition_query import partition_query

    tuning = partition_query() if "--partition-query" in argv else nullcontext()
    # The server holds hundreds of thousands of long-lived objects: full collections of them
    # are pure overhead.
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
    with tuning:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        print(server.get_host_and_port()[1], flush=True)
        sys.stdin.read()
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
