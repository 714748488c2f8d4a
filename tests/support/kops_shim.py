"""`kops` for the tests: hands the call to the stand-in's fork server (kops_zygote.py, or the
suite's moto_pool.py, which serves the same calls) when one is linked at
$FAKE_KOPS_HOME/zygote.sock, else runs fake_kops.py itself. With `--aws SOCKET` first it is the
plan-script test's `aws` instead, run by the suite's fork server; with `--fake-k8s SOCKET` first,
the fake cluster API (fake_k8s.py), run the same way. Started with `python -S`: it needs
only the standard library, and starts in milliseconds.

It stays the process the wizard started and waits for the call: signals it gets (TERM, INT,
HUP) go on to the call, the call's exit code (or its killing signal) is its own, and if it is
killed outright the zygote's child notices the closed connection and ends too."""

import json
import os
import signal
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    argv = sys.argv[1:]
    if argv[:1] == ["--aws"]:
        # `--aws SOCKET ARGS`: the plan-script test's aws CLI, run by the suite's fork server,
        # which has it imported, or else by a Python of its own (not -S: it needs site-packages).
        program, path, argv = "aws", argv[1], argv[2:]
        fallback = [sys.executable, "-m", "awscli"] + argv
    elif argv[:1] == ["--fake-k8s"]:
        # `--fake-k8s SOCKET ARGS`: the fake cluster API, forked by the suite's fork server
        # with boto3, cryptography and botocore's models already loaded.
        program, path, argv = "fake-k8s", argv[1], argv[2:]
        fallback = [sys.executable, os.path.join(HERE, "fake_k8s.py")] + argv
    else:
        home = os.environ.get("FAKE_KOPS_HOME", "")
        program, path = "kops", os.path.join(home, "zygote.sock") if home else ""
        fallback = [sys.executable, os.path.join(HERE, "fake_kops.py")] + argv
    if not path or not os.path.exists(path):
        os.execv(fallback[0], fallback)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        os.execv(fallback[0], fallback)
    call = {"program": program, "argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
    body = json.dumps(call).encode()
    conn.sendall(struct.pack("!I", len(body)))
    socket.send_fds(conn, [body], [0, 1, 2])
    reader = conn.makefile("rb")
    first = reader.readline()
    if not first:
        sys.stderr.write("kops stand-in: the zygote did not start the call\n")
        sys.exit(2)
    pid = json.loads(first)["pid"]

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    line = reader.readline()
    if not line:
        # The call ended without a word: killed by a signal, as a process would be.
        sys.exit(137)
    sys.exit(json.loads(line)["exit"])


if __name__ == "__main__":
    main()
