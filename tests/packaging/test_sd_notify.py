#!/usr/bin/env python3
"""The exporter's Type=notify contract, without systemd.

Usage: test_sd_notify.py EXPORTER_BINARY

For a filesystem notify socket and an abstract one (`@name`): create an
AF_UNIX datagram socket with SO_PASSCRED, start the binary with NOTIFY_SOCKET
set and a config whose only ledger points at a closed port, then assert that
- a datagram containing READY=1 arrives, sent by the main process (what
  NotifyAccess=main requires), and every line of it is KEY=VALUE;
- /-/ready and /-/healthy answer 200 immediately after READY=1 (the listener
  is bound before READY=1 is sent; no retry);
- SIGHUP (ExecReload) leaves it running and ready; SIGTERM stops it with
  status 0.
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkgtest as t  # noqa: E402

READY_TIMEOUT = 30.0


def recv_notify(sock, deadline, proc):
    """(payload str, sender pid) of the next datagram; (None, None) at the
    deadline or once the exporter has exited."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, None
        sock.settimeout(min(left, 0.5))
        try:
            data, anc, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(struct.calcsize("3i")))
        except socket.timeout:
            if proc.poll() is not None:
                return None, None
            continue
        pid = None
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                pid, _, _ = struct.unpack("3i", cdata[:struct.calcsize("3i")])
        return data.decode("utf-8", "replace"), pid


def one_run(exe, workdir, label, abstract):
    port = t.free_port()
    closed = t.free_port()
    cfg = os.path.join(workdir, f"{label}.yml")
    t.minimal_config(cfg, closed)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    if abstract:
        name = f"provledger-notify-{os.getpid()}-{label}"
        sock.bind("\0" + name)
        notify = "@" + name
    else:
        notify = os.path.join(workdir, f"{label}.sock")
        sock.bind(notify)
    env = dict(os.environ, NOTIFY_SOCKET=notify)
    log = os.path.join(workdir, f"{label}.log")
    base = f"http://127.0.0.1:{port}"
    proc = None
    try:
        with open(log, "w") as logf:
            proc = subprocess.Popen([exe, f"--config.file={cfg}",
                                     f"--web.listen-address=127.0.0.1:{port}", "--log.level=debug"],
                                    stdout=logf, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + READY_TIMEOUT
        messages, ready_pid, ready_msg = [], None, None
        while ready_msg is None:
            msg, pid = recv_notify(sock, deadline, proc)
            if msg is None:
                break
            messages.append((msg, pid))
            if "READY=1" in msg.split("\n"):
                ready_msg, ready_pid = msg, pid
        # Probe first: the listener must already be bound when READY=1 arrives.
        status_ready = t.http_get(base + "/-/ready", timeout=3)[0] if ready_msg else None
        status_healthy = t.http_get(base + "/-/healthy", timeout=3)[0] if ready_msg else None
        if not t.check(ready_msg is not None, f"[{label}] READY=1 arrives on NOTIFY_SOCKET={notify}",
                       f"datagrams: {messages!r}; exporter alive: {proc.poll() is None}\n{t.tail(log)}"):
            return
        t.check(ready_pid == proc.pid, f"[{label}] READY=1 is sent by the main process (NotifyAccess=main)",
                f"sender pid {ready_pid}, main pid {proc.pid}")
        t.check(all("=" in line for line in ready_msg.split("\n") if line),
                f"[{label}] notify datagram is KEY=VALUE lines", repr(ready_msg))
        t.check(status_ready == 200, f"[{label}] /-/ready is 200 right after READY=1 (database down)",
                f"status {status_ready}\n{t.tail(log)}")
        t.check(status_healthy == 200, f"[{label}] /-/healthy is 200 right after READY=1",
                f"status {status_healthy}")

        proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        t.check(proc.poll() is None and t.wait_http_ok(base + "/-/ready", 10, proc),
                f"[{label}] SIGHUP (ExecReload) keeps it running and ready", t.tail(log))

        rc = t.stop_process(proc, timeout=15)
        t.check(rc == 0, f"[{label}] SIGTERM stops it with status 0", f"status {rc}\n{t.tail(log)}")
    finally:
        t.stop_process(proc)
        sock.close()


def main():
    t.sigterm_raises()
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        t.fatal("usage: test_sd_notify.py EXPORTER_BINARY (an executable)", str(sys.argv))
    exe = os.path.abspath(sys.argv[1])
    with t.tempdir("sdnotify-") as d:
        one_run(exe, d, "path-socket", abstract=False)
        one_run(exe, d, "abstract-socket", abstract=True)
    return t.report()


if __name__ == "__main__":
    sys.exit(main())
