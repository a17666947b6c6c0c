"""Start ``tangram`` subprocesses for multi-process tests, and always stop them again.

Every wait is a bounded polling loop; every child is killed when the test ends, passes or not.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "tests.runtime.jobs.plugin_handlers"
SECRET = "scale-out-test-secret"

T = TypeVar("T")


def poll(
    check: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.05,
    message: str = "condition",
) -> T:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tangram_env(database_url: str, var_dir: Path, **settings: Any) -> dict[str, str]:
    """Environment of a child process: only the given TANGRAM_* settings, the test plugin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANGRAM_")}
    values: dict[str, Any] = {
        "database_url": database_url,
        "var_dir": str(var_dir),
        "secret_key": SECRET,
        "plugins": [PLUGIN],
        "log_level": "WARNING",
        "job_poll_seconds": 0.1,
    }
    values.update(settings)
    for key, value in values.items():
        if isinstance(value, list | dict):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = "1" if value else "0"
        env[f"TANGRAM_{key.upper()}"] = str(value)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = f"{REPO_ROOT}{os.pathsep}{path}" if path else str(REPO_ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class TangramProcess:
    """One ``python -m runtime.cli …`` child; output goes to a log file shown on failure."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", *args],
            env=env,
            cwd=log_dir,  # no stray .env or var/ from the working tree
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def signal(self, sig: int) -> None:
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} did not exit within {timeout:.0f} s:\n{self.output()}"
            ) from None

    def kill(self) -> None:
        """SIGKILL (if still running), reap, close the log."""
        if self.alive():
            self.proc.kill()
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._log.close()

    def ensure_alive(self) -> None:
        if not self.alive():
            raise AssertionError(
                f"{self.name} exited with {self.proc.returncode}:\n{self.output()}"
            )


class Processes:
    """The children a test started; :func:`processes` kills whatever is left at the end."""

    def __init__(self, database_url: str, tmp_dir: Path) -> None:
        self.database_url = database_url
        self.tmp_dir = tmp_dir
        self.children: list[TangramProcess] = []

    def env(self, **settings: Any) -> dict[str, str]:
        return tangram_env(self.database_url, self.tmp_dir / "var", **settings)

    def start(self, name: str, args: list[str], **settings: Any) -> TangramProcess:
        child = TangramProcess(name, args, self.env(**settings), self.tmp_dir)
        self.children.append(child)
        return child

    def worker(self, name: str, *, concurrency: int = 4, **settings: Any) -> TangramProcess:
        return self.start(name, ["worker", "--concurrency", str(concurrency)], **settings)

    def web(self, name: str, port: int, **settings: Any) -> TangramProcess:
        return self.start(name, ["run", "--no-worker"], port=port, **settings)

    def webs(self, count: int, **settings: Any) -> list[tuple[TangramProcess, str]]:
        """Start ``count`` web processes on free ports; returns each with its base URL, healthy.

        A process that dies before it answers (its port was taken in the meantime by someone
        else) is started again on another port, at most twice.
        """
        started = []
        for i in range(count):
            port = free_port()
            started.append((self.web(f"web-{i}", port), f"http://127.0.0.1:{port}"))
        for i in range(count):
            for retry in range(1, 4):
                child, base = started[i]
                try:
                    self.wait_healthy(child, base)
                    break
                except AssertionError:
                    if child.alive() or retry == 3:
                        raise
                self.children.remove(child)
                child.kill()
                port = free_port()
                started[i] = (self.web(f"web-{i}-retry{retry}", port), f"http://127.0.0.1:{port}")
        return started

    def wait_healthy(self, child: TangramProcess, base_url: str, timeout: float = 30.0) -> Any:
        """Poll ``/api/health`` until ``child`` itself answers 200; returns the body."""

        def check() -> Any:
            child.ensure_alive()
            try:
                response = httpx.get(f"{base_url}/api/health", timeout=2.0)
            except httpx.TransportError:
                return None
            if response.status_code != 200:
                return None
            body = response.json()
            return body if str(body.get("instance", "")).endswith(f":{child.pid}") else None

        return poll(check, timeout=timeout, interval=0.1, message=f"{child.name} to be healthy")

    def check_alive(self) -> None:
        for child in self.children:
            child.ensure_alive()

    def logs(self) -> str:
        return "\n".join(f"--- {c.name} (pid {c.pid})\n{c.output()}" for c in self.children)

    def stop_all(self) -> None:
        for child in self.children:
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in self.children:
            with suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            child.kill()


@contextmanager
def processes(database_url: str, tmp_dir: Path) -> Iterator[Processes]:
    group = Processes(database_url, tmp_dir)
    try:
        yield group
    except BaseException:
        sys.stderr.write(group.logs())
        raise
    finally:
        group.stop_all()
