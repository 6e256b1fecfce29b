"""A local AWS (moto server) that can deploy this project's CloudFormation templates.

    .venv/bin/python tools/moto/launcher.py --port PORT

Listens on 127.0.0.1 only. With --port 0 it picks a free port. Once it accepts
connections it prints one line, `READY http://127.0.0.1:<port>`, on stdout, so tests and
scripts can wait for that line and read the endpoint from it. It stops cleanly on SIGTERM
or Ctrl-C.

Before serving it teaches moto's CloudFormation engine the resource types and behaviours
our templates need (see cfn_support/); everything else is plain moto.

Environment: MOTO_ECS_ROLLOUT_SECONDS (default 2) is how long an ECS service's new
deployment stays IN_PROGRESS before it completes and registers its targets
(cfn_support/rollout.py; 0 completes at once).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cfn_support  # noqa: E402  (needs the path above)
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402

HOST = "127.0.0.1"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1; 0 picks a free one")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is not a TCP port; use 0-65535 (0 picks a free one)")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    cfn_support.install()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    # What moto's ThreadedMotoServer does, but binding here so a busy port is an error
    # message instead of a dead thread.
    app = DomainDispatcherApplication(create_backend_app)
    try:
        server = make_server(HOST, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    except (OSError, SystemExit) as error:  # werkzeug exits after explaining a busy port
        reason = error if isinstance(error, OSError) else "the port is taken"
        print(f"error: cannot listen on {HOST}:{args.port}: {reason}; pick another --port, or 0", file=sys.stderr)
        return 1
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    print(f"READY http://{HOST}:{server.server_port}", flush=True)
    stop.wait()
    server.shutdown()
    serving.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
