"""Intake benchmark (issue 5): ratings per second through the HTTP API under gunicorn with 2
workers on loopback — one rating per request and batches of 500 — and outbox records pushed
per second to the provincial stub.

    python bench/intake_bench.py                       # SQLite file in a temp folder
    python bench/intake_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/intake_bench.py --single 2000 --batches 10

Ratings are 99.7 % good and 0.3 % bad (each bad one opens a case), as in the field. The first
200 ratings (``--warmup``) are sent before the clock starts: each worker's first requests import
the engine and open connections, which is start-up, not throughput.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app, migrate  # noqa: E402
from app.extensions import db  # noqa: E402
from app.identifiers import make_uscc  # noqa: E402
from app.models import Channel, Department, ItemKind, ServiceItem  # noqa: E402
from app.province_stub import ProvinceStub, make_stub_server  # noqa: E402
from app.services.api_keys import create_key  # noqa: E402
from app.services.push import push_once  # noqa: E402

from tests.db_support import fresh_database  # noqa: E402

DATA_KEY = "aGNwLWJlbmNoLWRhdGEta2V5LW5vdC1mb3ItcHJvZCE="


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rating(n: int, rng: random.Random, dept_code: str, now: datetime) -> dict[str, Any]:
    bad = rng.random() < 0.003
    body: dict[str, Any] = {
        "id": f"bench-{n}", "service_record_no": f"BENCH{n:09d}", "service_item_code": "BENCH-ITEM",
        "department_code": dept_code, "channel": rng.choice(["window_device", "qr_code", "web_portal"]),
        "level": rng.choice([1, 2]) if bad else rng.choice([5, 5, 5, 4, 4, 3]),
        "evaluated_at": (now - timedelta(minutes=5)).isoformat()}
    if bad:
        body.update(dimensions=["服务效率"], comment="排队时间太长")
    return body


class Api:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.headers = port, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.local = threading.local()

    def post(self, body: Any) -> int:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        connection.request("POST", "/api/v1/evaluations", json.dumps(body), self.headers)
        response = connection.getresponse()
        response.read()
        return response.status


def wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)  # gunicorn is still starting; this is start-up, not a measured wait
    raise SystemExit("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="PostgreSQL URL (default: SQLite in a temp folder)")
    parser.add_argument("--single", type=int, default=2000, help="ratings sent one per request")
    parser.add_argument("--batches", type=int, default=10, help="batches of 500 ratings")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--warmup", type=int, default=200,
                        help="ratings sent one per request before measuring (each worker's first requests "
                             "import and connect)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, fresh_database(Path(folder), args.postgres) as url:
        settings = {"HCP_ENV": "production", "HCP_DATABASE_URL": url, "HCP_SECRET_KEY": "s" * 40,
                    "HCP_DATA_KEYS": DATA_KEY, "HCP_INSTANCE_PATH": folder, "HCP_API_RATE_LIMIT": "10000000/minute"}
        app = create_app({k[4:]: v for k, v in settings.items()})
        with app.app_context():
            migrate.upgrade(db.engine)
            dept = Department(credit_code=make_uscc("11", "360112", "24601777"), name="新建区行政审批局",
                              short_name="行政审批局", region_code="360112")
            db.session.add_all([dept, ServiceItem(code="BENCH-ITEM", name="企业设立登记",
                                                  kind=ItemKind.LICENSING, department=dept)])
            _key, token = create_key(db.session, "bench", Channel.WINDOW_DEVICE, "bench", datetime.now(timezone.utc))
            db.session.commit()
            dept_code = dept.credit_code
        port = free_port()
        server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--bind",
                                   f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                                  cwd=ROOT, env={**os.environ, **settings})
        try:
            wait_for(port)
            api, rng, now = Api(port, token), random.Random(2026), datetime.now(timezone.utc)
            print(f"intake benchmark on {app.config['DATABASE_URL'].get_backend_name()}, gunicorn 2 workers, "
                  f"{args.clients} clients")
            with ThreadPoolExecutor(args.clients) as pool:
                warm = list(pool.map(api.post, [rating(n, rng, dept_code, now) for n in range(args.warmup)]))
            if args.warmup:
                print(f"  warm-up:                {args.warmup} ratings, statuses {sorted(set(warm))} (not measured)")
            bodies = [rating(n, rng, dept_code, now) for n in range(args.warmup, args.warmup + args.single)]
            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                statuses = list(pool.map(api.post, bodies))
            rate = len(bodies) / (time.perf_counter() - started)
            print(f"  one rating per request: {rate:8.0f} ratings/s  ({len(bodies)}; statuses {sorted(set(statuses))})")
            base = args.warmup + args.single
            batches = [{"evaluations": [rating(base + b * 500 + i, rng, dept_code, now) for i in range(500)]}
                       for b in range(args.batches)]
            started = time.perf_counter()
            with ThreadPoolExecutor(min(args.clients, 2)) as pool:
                statuses = list(pool.map(api.post, batches))
            rate = 500 * len(batches) / (time.perf_counter() - started)
            print(f"  batches of 500:         {rate:8.0f} ratings/s  ({len(batches)} batches; statuses "
                  f"{sorted(set(statuses))})")
        finally:
            server.terminate()
            server.wait(timeout=30)
        stub_port = free_port()
        stub = make_stub_server(ProvinceStub(Path(folder) / "stub.sqlite"), stub_port)
        thread = threading.Thread(target=stub.serve_forever, daemon=True)
        thread.start()
        try:
            with app.app_context():
                started, delivered = time.perf_counter(), 0
                while True:
                    result = push_once(db.sessionmaker, f"http://127.0.0.1:{stub_port}/api/records", batch_size=500)
                    delivered += result.delivered
                    if not result.delivered:
                        break
                rate = delivered / (time.perf_counter() - started)
                print(f"  push to the stub:       {rate:8.0f} records/s  ({delivered} records)")
                db.engine.dispose()
        finally:
            stub.shutdown()


if __name__ == "__main__":
    main()
