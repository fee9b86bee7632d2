"""Real processes for end-to-end tests: the `hotline` CLI, throwaway redis-server, free ports."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOTLINE = [sys.executable, "-m", "gateway.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hotline_env(**values: str) -> dict[str, str]:
    """The process environment for a hotline child: ours, minus hotline settings, plus `values`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL") and not k.startswith("HOTLINE_")
    }
    env.update({"PYTHONUNBUFFERED": "1", "HOTLINE_MODEL_DIR": str(Path.home() / ".cache" / "hotline")})
    env.update(values)
    return env


def service_env(
    database_url: str, redis_url: str, port: int, data_dir: Path, *, recording_hosts: str = "127.0.0.1", **extra: str
) -> dict[str, str]:
    """The environment of a gateway and its workers under test: the database, Redis, the port, the data folder and
    the hosts recordings may come from (the simulator's), plus `extra`."""
    return hotline_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PORT=str(port),
        HOTLINE_DATA_DIR=str(data_dir),
        HOTLINE_RECORDING_HOSTS=recording_hosts,
        **extra,
    )


class Process:
    """A child process whose output goes to a log file, shown when a test fails."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            args, env=dict(env), cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._log.close()


@contextmanager
def processes(log_dir: Path) -> Iterator[list[Process]]:
    """Processes started in the block are stopped at its end; their logs are printed if it failed."""
    started: list[Process] = []
    try:
        yield started
    except BaseException:
        for proc in started:
            sys.stderr.write(f"\n----- {proc.name} -----\n{proc.output()[-6000:]}\n")
        raise
    finally:
        for proc in reversed(started):
            proc.stop()


def wait_http(url: str, *, timeout: float = 60, proc: Process | None = None) -> None:
    """Wait until `url` answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.output()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """A throwaway redis-server on a port of its own (fault tests stop it; never the machine's shared one)."""

    def __init__(self, port: int, log_dir: Path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._log_dir = log_dir
        self.proc: Process | None = None

    def start(self) -> None:
        binary = redis_server_binary()
        assert binary is not None
        self.proc = Process(
            f"redis-{self.port}",
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._log_dir),
            ],
            os.environ,
            self._log_dir,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill(signal.SIGKILL)
            self.proc.popen.wait(5)
            self.proc.stop()
            self.proc = None


def start_service(started: list[Process], env: dict[str, str], tmp_path: Path, port: int) -> Process:
    """The gateway, a transcriber and a light-jobs worker, appended to `started`; back once the gateway answers."""
    web = Process("serve", [*HOTLINE, "serve"], env, tmp_path)
    started.append(web)
    started.append(Process("transcriber", [*HOTLINE, "worker", "--queues", "hotline-transcription"], env, tmp_path))
    started.append(Process("worker", [*HOTLINE, "worker", "--queues", "hotline"], env, tmp_path))
    wait_http(f"http://127.0.0.1:{port}/healthz", proc=web)
    return web
