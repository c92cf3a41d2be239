"""What the PostgreSQL benchmark groups share: a part run in a child process on its own database, figures
passed back on stdout, and a gunicorn server on a free loopback port loaded by keep-alive client threads."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PG = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
MARK = "FIGURE "


def run_part(script: str, part: str, database: str) -> list[tuple[str, float, str]]:
    """Run `python script part` with DATABASE_URL on `database` (created if missing); the figures it printed."""
    ensure_database(database)
    env = {
        **os.environ,
        "DATABASE_URL": f"{PG}/{database}",
        "DJANGO_SETTINGS_MODULE": "fengchao.test_settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)]),
    }
    done = subprocess.run([sys.executable, script, part], env=env, stdout=subprocess.PIPE, text=True, check=False)
    figures = []
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            name, value, unit = line[len(MARK) :].split(" ", 2)
            figures.append((name, float(value), unit))
    if done.returncode != 0:
        print(f"{Path(script).stem}: the {part} part failed (exit {done.returncode})", file=sys.stderr)
    return figures


def ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def figure(name: str, value: float, unit: str) -> None:
    """Called in the child: hand a figure back to run_part."""
    print(f"{MARK}{name} {value} {unit}", flush=True)


def note(group: str, text: str) -> None:
    print(f"{group}: {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
        "PYTHONPATH": str(ROOT),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-secret-key-not-for-production-0123456789abcdef"),
        "FENGCHAO_ALLOW_DERIVED_KEYS": "1",
        "SECURE_SSL_REDIRECT": "0",
        "FENGCHAO_PLAIN_STATIC": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "fengchao.wsgi:application", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    return subprocess.Popen([*command, "--log-level", "warning"], env=env, cwd=ROOT)


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def wait_until_up(port: int, timeout: float = 60) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login/")  # /healthz reports the worker too, which this server runs without
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the benchmark server did not start")


def load(port: int, path: str, headers, body, *, seconds: float, clients: int = 4, group: str = "bench"):
    """POST from `clients` threads (one keep-alive connection each) for `seconds`; (201 answers, seconds taken).

    `headers(slot)` and `body(slot)` give each request's headers and JSON body for the client in `slot`.
    """
    import http.client

    stop = time.perf_counter() + seconds
    counts = [0] * clients
    failures: list[str] = []

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < stop:
            conn.request("POST", path, body=json.dumps(body(slot)).encode(), headers=headers(slot))
            response = conn.getresponse()
            payload = response.read()
            if response.status == 201:
                counts[slot] += 1
            elif len(failures) < 3:
                failures.append(f"{response.status} {payload[:200]!r}")
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        note(group, f"{path}: refused requests, e.g. {failures}")
    return sum(counts), time.perf_counter() - started
