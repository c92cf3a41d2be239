"""`make demo`: migrate the embedded SQLite database, seed the small demo district once, then run
the web server and the background worker together until Ctrl-C stops both."""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PYTHON = sys.executable


def demo_environment() -> dict:
    VAR.mkdir(exist_ok=True)
    key_file = VAR / "demo-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")  # the demo runs on plain http://localhost, without TLS
    env.setdefault("SECRET_KEY", key_file.read_text().strip())
    env.setdefault("DJANGO_SETTINGS_MODULE", "fengchao.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def manage(env, *args) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def main() -> int:
    env = demo_environment()
    port = env.get("PORT", "8000")
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "seed_demo", "--scale", "small")
    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "fengchao.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
        ],
        cwd=ROOT,
        env=env,
    )
    worker = subprocess.Popen([PYTHON, "manage.py", "run_worker", "--queue-name", "*"], cwd=ROOT, env=env)
    print(f"\nFengchao is running at http://127.0.0.1:{port}/  (health: http://127.0.0.1:{port}/healthz)")
    print("Press Ctrl-C to stop the web server and the worker.\n", flush=True)
    children = [server, worker]
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    print("Fengchao stopped.")
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
