#!/usr/bin/env python3
"""A fork server for the tests' moto servers: it imports moto and makes the backends the
suite uses once, then starts each test's server as a fork of itself, so a server costs a fork
instead of a Python start and about 1.4 s of imports and backend set-up (over a hundred tests
each start one). Every child starts from the pool's untouched state: the pool never answers a
request, so no test sees another's resources.

    python3 moto_pool.py --socket target/moto-pool.sock

scripts/test starts it and exports KW_MOTO_POOL; the Rust harness (support `Moto::start`) sends
one JSON line `{"port": P, "log": PATH}` and reads back `{"pid": N}`: that child serves moto on
127.0.0.1:P with its output in PATH, until the test kills it. Without the pool, or for moto in
auth mode (whose settings are read at import), the harness starts `python -m moto.server` as
before. The pool ends when its stdin closes.
"""

import argparse
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fork_server  # noqa: E402

import moto.server
from moto.backends import get_backend

ACCOUNT = "123456789012"
# The services the suite calls, made ready for the regions it uses.
SERVICES = ["iam", "s3", "sts", "ec2", "elbv2", "elb", "autoscaling", "route53", "sqs", "events"]
REGIONS = ["us-east-1", "eu-west-1"]


def warm():
    for service in SERVICES:
        backends = get_backend(service)
        for region in REGIONS + ["global", "aws"]:
            try:
                backends[ACCOUNT][region]
            except (KeyError, ValueError):
                pass  # not a region of this service


def child(port, log):
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        moto.server.main(["-H", "127.0.0.1", "-p", str(port)])
    finally:
        os._exit(1)


def handle(server, conn):
    try:
        request = json.loads(conn.makefile("rb").readline())
    except ValueError:
        return
    pid = os.fork()
    if pid == 0:
        server.close()
        conn.close()
        child(int(request["port"]), request["log"])
    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    args = parser.parse_args()
    warm()
    fork_server.serve(args.socket, handle)


if __name__ == "__main__":
    main()
