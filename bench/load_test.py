"""Load test (issue 10, item 3): gunicorn on loopback, a fresh database, and a mixed workload
for a fixed time — rating intake (one per request, and small batches), inbox reads (the web
page signed in, and the task API with a personal token), and tasks claimed and completed
through the task API (each bad rating opens a case: its handler settles it on the spot, the
department lead files it). Prints per kind the throughput and latency percentiles, the
error count (anything but the expected answer; it must be 0), and the resident memory of
the gunicorn worker processes at the start and at the end.

    python bench/load_test.py                       # 5 minutes on SQLite in a temp folder
    python bench/load_test.py --seconds 60
    python bench/load_test.py --seconds 60 --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/load_test.py --clients 8 --workers 2

Every request goes to 127.0.0.1 and the run stops by itself after --seconds. Intake here is
15 % bad ratings (in the field 0.3 %), so that the claim/complete traffic has cases to work.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app, migrate  # noqa: E402
from app.extensions import db  # noqa: E402
from app.identifiers import make_uscc  # noqa: E402
from app.models import Channel, Department, ItemKind, Role, ServiceItem  # noqa: E402
from app.services import calendar_years, user_tokens  # noqa: E402
from app.services.accounts import create_user  # noqa: E402
from app.services.api_keys import create_key  # noqa: E402

from bench.intake_bench import free_port, wait_for  # noqa: E402
from tests.db_support import fresh_database  # noqa: E402

DATA_KEY = "aGNwLWJlbmNoLWRhdGEta2V5LW5vdC1mb3ItcHJvZCE="
PASSWORD = "Load-test-password-1"
BAD_SHARE = 0.15
# kind -> weight in the mix (a "work" step is a task list read, then a claim and a completion)
MIX = {"intake": 30, "intake_batch": 5, "inbox_page": 15, "tasks_api": 20, "work": 30}
EXPECTED = {"intake": {201}, "intake_batch": {200}, "inbox_page": {200}, "tasks_api": {200},
            "claim": {200}, "complete": {200}}


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)
    ratings: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if not ok:
                self.errors[kind] += 1
                if len(self.examples) < 10:
                    self.examples.append(f"{kind}: {detail}")


@dataclass
class Setup:
    api_key: str
    dept_code: str
    handlers: list[tuple[str, str]]  # (username, token)
    lead_token: str


def seed(url: str, folder: str, clients: int) -> Setup:
    app = create_app({"ENV": "production", "DATABASE_URL": url, "SECRET_KEY": "l" * 40, "DATA_KEYS": DATA_KEY,
                      "INSTANCE_PATH": folder})
    with app.app_context():
        migrate.upgrade(db.engine)
        calendar_years.reset_calendar()
        session = db.session
        dept = Department(credit_code=make_uscc("11", "360112", "24601888"), name="新建区行政审批局",
                          short_name="行政审批局", region_code="360112")
        session.add_all([dept, ServiceItem(code="LOAD-ITEM", name="企业设立登记", kind=ItemKind.LICENSING, department=dept)])
        session.flush()
        handlers = []
        for n in range(clients):
            user = create_user(session, username=f"load.h{n}", display_name=f"经办人{n}", password=PASSWORD,
                               roles=[Role.HANDLER], department=dept)
            session.flush()
            handlers.append((user.username, user_tokens.create_token(session, user, "load")[1]))
        lead = create_user(session, username="load.lead", display_name="负责人", password=PASSWORD,
                           roles=[Role.LEAD], department=dept)
        session.flush()
        lead_token = user_tokens.create_token(session, lead, "load")[1]
        _key, api_key = create_key(session, "load-device", Channel.WINDOW_DEVICE, "load", datetime.now(timezone.utc))
        session.commit()
        setup = Setup(api_key, dept.credit_code, handlers, lead_token)
        db.engine.dispose()
    return setup


class Client:
    """One simulated person: a handler with a signed-in browser session and a token, who
    also acts for the lead on the tasks of their share (task id modulo the client count),
    so that no two clients ever claim the same task."""

    def __init__(self, port: int, setup: Setup, index: int, count: int, stats: Stats, rng: random.Random) -> None:
        self.port, self.setup, self.index, self.count, self.stats, self.rng = port, setup, index, count, stats, rng
        self.username, self.token = setup.handlers[index]
        self.connection: http.client.HTTPConnection | None = None
        self.cookie = ""
        self.serial = 0

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                form: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
        headers = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        elif form is not None:
            from urllib.parse import urlencode

            data = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):  # a kept-alive connection the server closed is reopened once
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.connection.request(method, path, data, headers)
                response = self.connection.getresponse()
                return response.status, response.read(), response
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def bearer(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def sign_in(self) -> None:
        status, page, response = self.request("GET", "/login")
        self.cookie = _session_cookie(response) or self.cookie
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1).decode()
        status, _, response = self.request("POST", "/login", headers={"Cookie": self.cookie},
                                           form={"username": self.username, "password": PASSWORD, "csrf_token": token})
        if status != 302:
            raise SystemExit(f"{self.username} could not sign in: {status}")
        self.cookie = _session_cookie(response) or self.cookie

    def timed(self, kind: str, method: str, path: str, **kwargs: Any) -> tuple[int, bytes]:
        started = time.perf_counter()
        try:
            status, body, _ = self.request(method, path, **kwargs)
        except OSError as error:
            self.stats.record(kind, time.perf_counter() - started, False, f"{method} {path}: {error!r}")
            return 0, b""
        ok = status in EXPECTED[kind]
        self.stats.record(kind, time.perf_counter() - started, ok, f"{method} {path} → {status} {body[:200]!r}")
        return status, body

    # --- the kinds of work ---------------------------------------------------------------
    def rating(self) -> dict[str, Any]:
        self.serial += 1
        bad = self.rng.random() < BAD_SHARE
        body: dict[str, Any] = {
            "id": f"load-{self.index}-{self.serial}", "service_record_no": f"LOAD{self.index:02d}{self.serial:08d}",
            "service_item_code": "LOAD-ITEM", "department_code": self.setup.dept_code,
            "channel": self.rng.choice(["window_device", "qr_code", "web_portal", "mobile_app"]),
            "level": self.rng.choice([1, 2]) if bad else self.rng.choice([5, 5, 5, 4, 4, 3]),
            "evaluated_at": (datetime.now(timezone.utc) - timedelta(minutes=3)).isoformat()}
        if bad:
            body.update(dimensions=["服务效率"], comment="排队时间太长")
        return body

    def intake(self) -> None:
        status, _ = self.timed("intake", "POST", "/api/v1/evaluations", body=self.rating(),
                               headers=self.bearer(self.setup.api_key))
        self.stats.ratings += status == 201

    def intake_batch(self) -> None:
        batch = [self.rating() for _ in range(self.rng.randint(10, 50))]
        status, body = self.timed("intake_batch", "POST", "/api/v1/evaluations", body={"evaluations": batch},
                                  headers=self.bearer(self.setup.api_key))
        if status == 200:
            summary = json.loads(body)["summary"]
            self.stats.ratings += summary["created"]
            if summary["created"] != len(batch):
                self.stats.record("intake_batch", 0.0, False, f"batch summary {summary}")

    def inbox_page(self) -> None:
        self.timed("inbox_page", "GET", self.rng.choice(["/inbox", "/inbox?tab=department", "/inbox?tab=department&page=2"]),
                   headers={"Cookie": self.cookie})

    def tasks_api(self, query: str = "tab=department", token: str | None = None) -> list[dict[str, Any]]:
        status, body = self.timed("tasks_api", "GET", f"/api/v1/tasks?{query}", headers=self.bearer(token))
        return json.loads(body)["tasks"] if status == 200 else []

    def work(self) -> None:
        """Settle a case on the spot as its handler, or file one as the lead."""
        as_lead = self.rng.random() < 0.5
        token = self.setup.lead_token if as_lead else None
        task_name, values = (("file_record", {"filing_summary": "当场解决，予以备案"}) if as_lead else
                             ("triage", {"solved_on_spot": True, "on_spot_measures": "现场解释并协助办结"}))
        mine = [t for t in self.tasks_api(f"tab=department&task={task_name}&per_page=100", token)
                if t["id"] % self.count == self.index]
        if not mine:
            return
        task = self.rng.choice(mine)
        status, _ = self.timed("claim", "POST", f"/api/v1/tasks/{task['id']}/claim", headers=self.bearer(token))
        if status == 200:
            self.timed("complete", "POST", f"/api/v1/tasks/{task['id']}/complete", body=values,
                       headers=self.bearer(token))

    def run(self, until: float) -> None:
        kinds, weights = list(MIX), list(MIX.values())
        while time.monotonic() < until:
            getattr(self, self.rng.choices(kinds, weights)[0])()


def _session_cookie(response: http.client.HTTPResponse) -> str | None:
    for header in response.headers.get_all("Set-Cookie") or []:
        if header.startswith("session="):
            return header.split(";", 1)[0]
    return None


def worker_rss(master: int) -> dict[int, int]:
    """Resident memory (KiB) of the gunicorn workers: the master's children."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("PPid", "").strip() == str(master) and "VmRSS" in fields:
            found[int(entry.name)] = int(fields["VmRSS"].split()[0])
    return found


def sample_rss(master: int, started: float, seconds: float, threads: list[threading.Thread]) -> list[tuple[float, int]]:
    """The workers' total RSS every tenth of the run (at least every 5 s), until the clients stop."""
    step, samples = max(5.0, seconds / 10), []
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(timeout=max(0.0, started + step * (len(samples) + 1) - time.monotonic()))
            if thread.is_alive():
                break
        at = time.monotonic() - started
        if not samples or at - samples[-1][0] >= 1:
            samples.append((at, sum(worker_rss(master).values())))
    return samples


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def report(stats: Stats, elapsed: float, rss_start: dict[int, int], rss_end: dict[int, int]) -> int:
    print(f"\n{'kind':<14}{'requests':>9}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}")
    total = errors = 0
    for kind in ("intake", "intake_batch", "inbox_page", "tasks_api", "claim", "complete"):
        values = stats.latencies.get(kind, [])
        total += len(values)
        errors += stats.errors.get(kind, 0)
        if not values:
            print(f"{kind:<14}{0:>9}")
            continue
        ms = [v * 1000 for v in values]
        print(f"{kind:<14}{len(values):>9}{len(values) / elapsed:>8.1f}{percentile(ms, .5):>9.1f}"
              f"{percentile(ms, .95):>9.1f}{percentile(ms, .99):>9.1f}{max(ms):>9.1f}{stats.errors.get(kind, 0):>8}")
    print(f"{'all':<14}{total:>9}{total / elapsed:>8.1f}{'':>45}{errors:>8}")
    print(f"ratings stored: {stats.ratings} ({stats.ratings / elapsed:.0f}/s)")
    print(f"errors: {errors}")
    for example in stats.examples:
        print("  " + example)
    print("gunicorn worker RSS (MiB): start " + ", ".join(f"{v / 1024:.1f}" for v in rss_start.values())
          + f" (total {sum(rss_start.values()) / 1024:.1f}); end " + ", ".join(f"{v / 1024:.1f}" for v in rss_end.values())
          + f" (total {sum(rss_end.values()) / 1024:.1f})")
    if set(rss_start) != set(rss_end):
        print("  note: the worker processes changed during the run (a worker was restarted)")
    return 1 if errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="PostgreSQL URL (default: SQLite in a temp folder)")
    parser.add_argument("--seconds", type=float, default=300, help="how long the load runs (default 300)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent simulated users")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, fresh_database(Path(folder), args.postgres) as url:
        setup = seed(url, folder, args.clients)
        settings = {"HCP_ENV": "production", "HCP_DATABASE_URL": url, "HCP_SECRET_KEY": "l" * 40,
                    "HCP_DATA_KEYS": DATA_KEY, "HCP_INSTANCE_PATH": folder, "HCP_API_RATE_LIMIT": "10000000/minute",
                    "HCP_LOGIN_RATE_LIMIT": "10000/minute"}
        port = free_port()
        server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--workers", str(args.workers),
                                   "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                                  cwd=ROOT, env={**os.environ, **settings})
        try:
            wait_for(port)
            backend = "postgresql" if args.postgres else "sqlite"
            print(f"load test on {backend}: gunicorn {args.workers} workers on 127.0.0.1:{port}, {args.clients} clients, "
                  f"{args.seconds:.0f} s; mix {MIX}")
            stats = Stats()
            clients = [Client(port, setup, n, args.clients, stats, random.Random(args.seed + n)) for n in range(args.clients)]
            for client in clients:
                client.sign_in()
            rss_start = worker_rss(server.pid)
            started = time.monotonic()
            threads = [threading.Thread(target=client.run, args=(started + args.seconds,)) for client in clients]
            for thread in threads:
                thread.start()
            samples = sample_rss(server.pid, started, args.seconds, threads)
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            rss_end = worker_rss(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    code = report(stats, elapsed, rss_start, rss_end)
    print("worker RSS total during the run (MiB): "
          + ", ".join(f"{at:.0f} s {kib / 1024:.1f}" for at, kib in samples))
    return code


if __name__ == "__main__":
    sys.exit(main())
