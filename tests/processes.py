"""Running the ``c360`` command line as a user would: free ports and ready lines."""

from __future__ import annotations

import signal
import socket
import subprocess
import time


def free_port_block(size: int = 4) -> int:
    """The first of ``size`` consecutive free loopback ports (the sandbox uses port+1..+3)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + size >= 65535:
            continue
        sockets: list[socket.socket] = []
        try:
            for offset in range(size):
                s = socket.socket()
                sockets.append(s)  # closed in `finally` even when the bind fails
                s.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
        return base
    raise RuntimeError("no free port block")


def interrupt(proc: subprocess.Popen[str], timeout: float = 30) -> int:
    """Ctrl-C, as a user stops the command; its exit code (killed after ``timeout``)."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    finally:
        if proc.stdout is not None:
            proc.stdout.close()


def read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """What the process printed up to (and including) the line starting with ``marker``."""
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith(marker):
            break
    return "".join(lines)


def serve(config: str, port: int, workers: int = 1, timeout: float = 60,
          ) -> subprocess.Popen[str]:
    """``c360 serve`` on ``port``, once it answers ``/healthz`` (killed if it never does)."""
    import os
    import sys

    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", config, "--port", str(port),
         "--workers", str(workers)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.2)
