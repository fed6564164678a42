"""The application as the separate processes it runs as in production, for the reliability
tests and drills: gunicorn serving the API, ``hcp worker`` processes (timer sweep and push),
the provincial stub receiving the pushes, and a rating source that retries like a real one.

Nothing here sleeps to let time pass for a test's sake: waits are bounded polls for a
process to come up or for the system to reach a state.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from app import create_app, migrate
from app.extensions import db
from app.identifiers import make_uscc
from app.models import Channel, Department, ItemKind, ServiceItem
from app.province_stub import RECORDS_PATH, ProvinceStub, make_stub_server
from app.services.api_keys import create_key
from app.services.engine_runtime import deploy_shipped
from werkzeug.wrappers import Response

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATA_KEY = "aGNwLXJlbGlhYmlsaXR5LWtleS1ub3QtZm9yLXByb2Q="
SECRET_KEY = "reliability-harness-secret-key-not-for-production"
SOURCE = "chaos-source"
ITEM_CODE = "REL-ITEM-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], bool], seconds: float, what: str, step: float = 0.2) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached within {seconds:g} s")
        time.sleep(step)


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@dataclass
class District:
    """One department, one service item and a rating source's API key in a migrated database."""

    database_url: str
    token: str
    department_code: str
    folder: Path

    def settings(self, database_url: str | None = None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HCP_")}
        env.update(HCP_DATABASE_URL=database_url or self.database_url, HCP_SECRET_KEY=SECRET_KEY,
                   HCP_DATA_KEYS=DATA_KEY, HCP_INSTANCE_PATH=str(self.folder),
                   HCP_API_RATE_LIMIT="100000000/minute")
        env.update(extra)
        return env


def prepare(database_url: str, folder: Path) -> District:
    """Migrate an empty database and add what intake needs; the shipped process files are
    deployed here so that no two first requests race to deploy them."""
    app = create_app({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY,
                      "DATA_KEYS": DATA_KEY, "INSTANCE_PATH": str(folder)})
    with app.app_context():
        migrate.upgrade(db.engine)
        dept = Department(credit_code=make_uscc("11", "360112", "24602001"), name="新建区行政审批局",
                          short_name="行政审批局", region_code="360112")
        db.session.add_all([dept, ServiceItem(code=ITEM_CODE, name="企业设立登记", kind=ItemKind.LICENSING,
                                              department=dept)])
        _key, token = create_key(db.session, SOURCE, Channel.WINDOW_DEVICE, "harness", datetime.now(timezone.utc))
        deploy_shipped(db.session, "harness", "shipped process files")
        db.session.commit()
        district = District(database_url, token, dept.credit_code, folder)
        for engine in db.engines.values():
            engine.dispose()
    return district


def rating_body(external_id: str, rng: random.Random, department_code: str, bad_share: float,
                valid: bool = True) -> dict[str, Any]:
    bad = rng.random() < bad_share
    body: dict[str, Any] = {
        "id": external_id, "service_record_no": f"REL-{external_id}",
        "service_item_code": ITEM_CODE, "department_code": department_code,
        "channel": rng.choice(["window_device", "qr_code", "web_portal"]),
        "level": rng.choice([1, 2]) if bad else rng.choice([5, 5, 4, 3]),
        "evaluated_at": (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()}
    if bad:
        body.update(dimensions=["服务效率"], comment="排队时间太长")
    if not valid:
        body["level"] = 9  # refused: 422 / "invalid", never stored
    return body


class Logs:
    """Each process's output goes to a file of its own (a pipe nobody reads would fill up)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def open(self, name: str) -> Any:
        self.count += 1
        return open(self.folder / f"{self.count:03d}-{name}.log", "w")

    def text(self, prefix: str) -> str:
        return "".join(path.read_text(errors="replace") for path in sorted(self.folder.glob(f"*-{prefix}*.log")))


class Gunicorn:
    """``gunicorn wsgi:app`` in its own process group: one SIGKILL can take the master and
    its workers down together, as a crashed host would."""

    def __init__(self, env: dict[str, str], logs: Logs, workers: int = 2) -> None:
        self.env, self.logs, self.workers = {**env, "HCP_ENV": "production"}, logs, workers
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.logs.open("gunicorn") as log:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
                 "--log-level", "warning", "--timeout", "30", "--graceful-timeout", "5", "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: len(self.children()) == self.workers and port_open(self.port), 60, "gunicorn start")

    def children(self) -> list[int]:
        if self.process is None or self.process.poll() is not None:
            return []
        try:
            text = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def kill_one_worker(self, rng: random.Random) -> int:
        """SIGKILL one web worker; the master starts a new one."""
        pids = self.children()
        if not pids:
            raise RuntimeError("gunicorn has no worker to kill")
        pid = rng.choice(pids)
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_all(self) -> int:
        """SIGKILL the master and its workers at once."""
        assert self.process is not None
        pid = self.process.pid
        os.killpg(pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        return pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


def pid_owning_port(port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` holds the loopback TCP socket bound to local ``port`` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
            except OSError:
                continue
    return None


class Worker:
    """One ``hcp worker`` process (timer sweep and push every ``interval`` seconds), its
    engine clock optionally moved by ``clock_ahead`` (``--at``, refused in production)."""

    def __init__(self, env: dict[str, str], logs: Logs, name: str, interval: int = 1,
                 clock_ahead: timedelta | None = None) -> None:
        self.env, self.logs, self.name = {**env, "HCP_ENV": "development"}, logs, name
        self.interval, self.clock_ahead = interval, clock_ahead
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [str(BIN / "hcp"), "worker", "--interval", str(self.interval)]
        if self.clock_ahead is not None:
            args += ["--at", (datetime.now(timezone.utc) + self.clock_ahead).isoformat()]
        with self.logs.open(self.name) as log:
            self.process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> int:
        assert self.process is not None
        self.process.kill()  # SIGKILL
        self.process.wait(timeout=30)
        return self.process.pid

    def stop(self) -> int | None:
        """SIGTERM; the exit status (None if it had to be killed)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
                return None
        return self.process.returncode


class Stub:
    """The provincial receiver (app.province_stub) on a thread of this process. With
    ``hold`` it is a slow receiver: each batch waits a random time up to ``hold`` seconds
    before it is stored and again before it is answered, and the batches in flight are
    known (``senders``), so that a kill can be aimed at a push in progress. With ``flaky``
    that share of the batches fails: half of them are answered 503 without being stored (the
    request was lost), half are stored and then answered 503 (the answer was lost)."""

    def __init__(self, folder: Path, hold: float = 0.0, flaky: float = 0.0, seed: int = 0) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per pushed batch
        self.stub = ProvinceStub(folder / "province-stub.sqlite")
        self.hold, self.flaky, self.rng, self.lock = hold, flaky, random.Random(seed), threading.Lock()
        self.lost_requests = self.lost_answers = 0
        self.in_flight: dict[int, float] = {}  # sender's port -> arrival
        self.server = make_stub_server(self._receive)
        self.url = f"http://127.0.0.1:{self.server.port}{RECORDS_PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="province-stub", daemon=True)
        self.thread.start()

    def _pause(self) -> None:
        if self.hold:
            with self.lock:
                seconds = self.rng.uniform(0, self.hold)
            time.sleep(seconds)  # the receiver is slow: widens the windows a kill may fall into

    def _receive(self, environ: dict[str, Any], start_response: Any) -> Any:
        port = int(environ.get("REMOTE_PORT") or 0)
        with self.lock:
            self.in_flight[port] = time.monotonic()
        with self.lock:
            fate = self.rng.random()
        try:
            self._pause()
            if fate < self.flaky / 2:
                with self.lock:
                    self.lost_requests += 1
                return Response("lost request", status=503)(environ, start_response)
            head: list[Any] = []
            body = b"".join(self.stub(environ, lambda *args: head.extend(args[:2])))  # stored here
            self._pause()
            if fate < self.flaky:
                with self.lock:
                    self.lost_answers += 1
                return Response("lost answer", status=503)(environ, start_response)
            start_response(*head)
            return [body]
        finally:
            with self.lock:
                self.in_flight.pop(port, None)

    def senders(self) -> list[int]:
        """The local ports of the connections whose batch is being received now."""
        with self.lock:
            return list(self.in_flight)

    def records(self) -> list[dict[str, Any]]:
        return self.stub.records()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)
        self.server.server_close()


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]
    raw: bytes


class RatingSource:
    """A client of ``POST /api/v1/evaluations`` that, like a real rating source, sends the
    same request again (same rating ids) after a lost connection or a 502/503 until it is
    answered. It remembers every answer it received."""

    RETRY = frozenset({502, 503, 504})

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.local = threading.local()
        self.lock = threading.Lock()
        self.lost_connections = 0
        self.retried_statuses: dict[int, int] = {}

    def post_once(self, body: Any, timeout: float = 60) -> Answer:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("POST", "/api/v1/evaluations", json.dumps(body), self.headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            self.local.connection = None
            raise
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        return Answer(response.status, parsed, {k.lower(): v for k, v in response.getheaders()}, raw)

    def post(self, body: Any, give_up: float = 120) -> Answer:
        deadline = time.monotonic() + give_up
        while True:
            try:
                answer = self.post_once(body)
                if answer.status not in self.RETRY:
                    return answer
                with self.lock:
                    self.retried_statuses[answer.status] = self.retried_statuses.get(answer.status, 0) + 1
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.lost_connections += 1
            if time.monotonic() > deadline:
                raise TimeoutError("the API did not answer within the retry time")
            time.sleep(0.2)  # a real source's back-off, shortened (the API asks for 30 s)
