#!/usr/bin/env python3
"""The suite's fork server: it imports moto, the kops stand-in and boto3, makes the backends the
suite uses and reads botocore's service models once, then does each piece of Python work of the
suite in a fork of itself. Each costs a fork instead of a Python start and its imports:

- **a test's moto server** (about 1.4 s of imports and backend set-up saved; over a hundred tests
  each start one). The Rust harness (support `Moto::start`) sends one JSON line
  `{"port": P, "log": PATH}` and reads back `{"pid": N}`: that child serves moto on 127.0.0.1:P
  with its output in PATH, until the test kills it. Every child starts from the pool's untouched
  state: the pool never answers a request, so no test sees another's resources.
- **a kops call**: the stand-in's shim (kops_shim.py) connects here when the harness linked its
  environment's `zygote.sock` to this socket, and the call runs as kops_zygote.py runs it (the
  two are told apart by the first byte: the shim's length header, or a JSON line's `{`). The
  plan-script test's `aws` calls come the same way (`kops_shim.py --aws`).
- **a test's Python script** (support `python_c`: boto3 checks of AWS's state):
  `{"script": CODE, "env": {...}, "cwd": DIR}`, answered with
  `{"exit": N, "stdout": ..., "stderr": ...}` once it ran, as `python -c CODE` would.

The last two make their botocore sessions with the loader read here (warm_botocore.py), so a
client costs no JSON parsing.

    python3 moto_pool.py --socket target/moto-pool.sock

scripts/test starts it and exports KW_MOTO_POOL. Without the pool, or for moto in auth mode
(whose settings are read at import), the harness starts moto_server.py (moto's server, as slow as AWS where asked), a zygote per
environment and a Python per script, as before. The pool ends when its stdin closes.
"""

import argparse
import contextlib
import io
import json
import os
import signal
import socket
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fake_k8s  # noqa: E402,F401  (each test's fake cluster API is a fork too)
import cryptography.x509  # noqa: E402,F401  (its certificates, and the stand-in's)
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402,F401
import fork_server  # noqa: E402
import kops_zygote  # noqa: E402
import moto_realism  # noqa: E402
import warm_botocore  # noqa: E402

import moto.server  # noqa: E402
from moto.backends import get_backend  # noqa: E402

moto_realism.apply()

try:
    import awscli.clidriver  # noqa: E402,F401  (the plan-script test's aws calls)

    # Its import points AWS_DATA_PATH at its data; only its own calls want that (kops_zygote.py).
    os.environ.pop("AWS_DATA_PATH", None)
except ImportError:
    pass

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
    fork_server.name("moto-server")
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


def script(conn, request, loader):
    """Runs a test's script as `python -c` would, with the request's environment and directory;
    sends back its exit code and what it printed."""
    fork_server.name("test-script")
    warm_botocore.share(loader)
    os.environ.clear()
    os.environ.update(request.get("env", {}))
    os.chdir(request.get("cwd", "/"))
    code = request["script"]
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    out, err, status = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            exec(compile(code, "<script>", "exec"), {"__name__": "__main__"})
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # a failing script prints its traceback, as python -c does
            traceback.print_exc()
            status = 1
    answer = {"exit": status, "stdout": out.getvalue(), "stderr": err.getvalue()}
    try:
        conn.sendall(json.dumps(answer).encode() + b"\n")
    finally:
        os._exit(0)


def handle(server, conn, loader):
    # As in kops_zygote.handle: a client that never sends must not hold the whole suite.
    conn.settimeout(10)
    try:
        first = conn.recv(1, socket.MSG_PEEK)
    except OSError:
        return
    if first and first != b"{":
        kops_zygote.handle(server, conn, loader)
        return
    try:
        request = json.loads(conn.makefile("rb").readline())
    except (OSError, ValueError):
        return
    conn.settimeout(None)
    pid = os.fork()
    if pid == 0:
        server.close()
        if "script" in request:
            script(conn, request, loader)
        conn.close()
        child(int(request["port"]), request["log"])
    if "script" not in request:
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    args = parser.parse_args()
    warm()
    loader = warm_botocore.warm()
    fork_server.serve(args.socket, lambda server, conn: handle(server, conn, loader))


if __name__ == "__main__":
    main()
