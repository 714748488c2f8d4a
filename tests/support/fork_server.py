"""The loop both test fork servers share (kops_zygote.py, moto_pool.py): a Unix socket that
hands each connection to `handle`, which forks the work; the server ends when its stdin closes
(the test or script that started it is over).

No thread runs in the server, so a fork copies no lock a thread held: the loop itself watches
stdin. Children are reaped by the kernel (SIGCHLD ignored): whoever asked for one watches it
through its connection or its pid."""

import os
import select
import signal
import socket
import sys


def name(title):
    """Names this fork in `ps` and /proc (its comm): every child of a fork server otherwise
    shows the server's command line, and a CPU profile of the suite could not tell a moto server
    from a kops call."""
    try:
        with open("/proc/self/comm", "w", encoding="ascii") as fh:
            fh.write(title[:15])
    except OSError:
        pass


def serve(path, handle):
    """Listens at `path`, prints READY, then calls `handle(server, conn)` per connection.
    `handle` forks; in the child it must close `server` and never return."""
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print("READY", flush=True)
    while True:
        ready, _, _ = select.select([server, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
            os._exit(0)
        if server not in ready:
            continue
        conn, _ = server.accept()
        # A child must not inherit unwritten output of the server's.
        sys.stdout.flush()
        sys.stderr.flush()
        with conn:
            handle(server, conn)
