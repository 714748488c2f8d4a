#!/usr/bin/env python3
"""A fork server for the kops stand-in: it imports fake_kops (and boto3, botocore, fake_cloud)
once, then runs each `kops` call in a forked child, so a call costs a fork instead of a Python
start and ~0.3 s of imports. The suite makes over a thousand kops calls; they were half of its
CPU time.

    python3 kops_zygote.py --socket $FAKE_KOPS_HOME/zygote.sock

`kops_shim.py` (the `kops` on the wizard's PATH) connects, passes its stdin, stdout and stderr
with its argv, environment and working directory, and waits. The child takes those as its own
and runs `fake_kops.main(argv)`; its exit code goes back to the shim, which exits with it. When
the shim dies (the wizard killed it: a timeout, SIGKILL, the wizard's own death through setpriv),
the connection closes and the child ends at once, as a killed kops would. Without a zygote the
shim execs fake_kops.py itself: the behaviour is the same, only slower.

The child writes nothing the parent keeps: every call starts from the state imported here, which
holds no session, client or environment of any call.
"""

import argparse
import json
import os
import signal
import socket
import struct
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# What a call would import anyway, paid once here. No session or client is made: those read the
# call's own environment (keys, profile, endpoint).
import boto3  # noqa: E402,F401
import botocore.config  # noqa: E402,F401
import botocore.exceptions  # noqa: E402,F401
import botocore.session  # noqa: E402,F401
import fake_kops  # noqa: E402
import fake_kops_day2  # noqa: E402,F401
import fork_server  # noqa: E402
import warm_botocore  # noqa: E402

try:
    import fake_cloud  # noqa: E402,F401
except ImportError:
    pass

HEADER = struct.Struct("!I")


def recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def child(conn, fds, request, loader=None):
    """Becomes the call: its fds, environment, directory and argv; then fake_kops.main. With
    `loader` (warm_botocore.py), the call's sessions read no botocore data file again."""
    if loader is not None:
        warm_botocore.share(loader)
    # First, who the call is: the shim forwards signals to it.
    conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    program = request.get("program")
    fork_server.name({"aws": "aws-cli", "fake-k8s": "fake-k8s"}.get(program, "kops-call"))
    aws = program == "aws"
    script = {"aws": "aws", "fake-k8s": os.path.join(HERE, "fake_k8s.py")}
    sys.argv = [script.get(program, os.path.join(HERE, "fake_kops.py"))] + request["argv"]
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)

    def watch():
        # The shim sends nothing more: EOF means it is gone, and so must the call be.
        try:
            conn.recv(1)
        finally:
            os._exit(137)

    threading.Thread(target=watch, daemon=True).start()
    try:
        if aws:
            import awscli.clidriver  # the suite's fork server has imported it already

            # What importing awscli sets for its own data (cli.json), which the call's
            # environment replaced.
            os.environ["AWS_DATA_PATH"] = os.pathsep.join(awscli._awscli_data_path)
            code = awscli.clidriver.main()
        elif program == "fake-k8s":
            import fake_k8s  # the suite's fork server has imported it already

            code = fake_k8s.main() or 0
        else:
            code = fake_kops.main(request["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # a crash must look like one, as a real process's would
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
    finally:
        os._exit(code if isinstance(code, int) else 1)


def handle(server, conn, loader=None):
    # A caller that connects and never sends (stopped, say) must not hold the server, which
    # serves every other call; the call itself, in the child, waits as long as it runs.
    conn.settimeout(10)
    try:
        (size,) = HEADER.unpack(recv_exactly(conn, HEADER.size))
        msg, fds, _, _ = socket.recv_fds(conn, size, 3)
        while len(msg) < size:
            msg += recv_exactly(conn, size - len(msg))
        request = json.loads(msg)
    except (EOFError, OSError, ValueError):
        return
    conn.settimeout(None)
    if os.fork() == 0:
        server.close()
        child(conn, fds, request, loader)
    for fd in fds:
        os.close(fd)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    args = parser.parse_args()
    fork_server.serve(args.socket, handle)


if __name__ == "__main__":
    main()
