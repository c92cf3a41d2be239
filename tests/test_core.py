import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.utils import timezone

from fengchao.core.heartbeat import beat
from fengchao.core.models import WorkerHeartbeat
from fengchao.core.tasks import echo

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_healthz_is_503_without_a_worker_and_200_with_one(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "ok"
    assert "worker" in response.json()["worker"]

    beat("w1", timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "worker": "ok", "workers": 1}


@pytest.mark.django_db
def test_healthz_ignores_a_stale_worker(client, settings):
    beat("w1", timezone.now())
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timezone.timedelta(seconds=settings.WORKER_STALE_S + 5))
    assert client.get("/healthz").status_code == 503


@pytest.mark.django_db(transaction=True)
def test_worker_runs_queued_tasks_and_beats():
    result = echo.enqueue("你好")
    call_command("run_worker", batch=True, startup_delay=False, verbosity=0)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "你好"


def test_production_settings_pass_check_deploy():
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"SECURE_SSL_REDIRECT", "FENGCHAO_ALLOW_DERIVED_KEYS"}},
        "DJANGO_SETTINGS_MODULE": "fengchao.settings",
        "DEBUG": "0",
        "SECRET_KEY": "k" * 20 + "Q7#x9!vL2@pR5$zT8&mN4^bW6*cY3(dF1)hJ0",
        "ALLOWED_HOSTS": "grid.example.cn",
        "FENGCHAO_DATA_KEY": "nR3GkMbbq0fAMWUxqj0Hk2-7v9eKXa2n8K0dmSSrbqE=",
        "FENGCHAO_HASH_KEY": "a-separate-hash-key-for-lookups",
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env["DJANGO_SETTINGS_MODULE"] = "fengchao.settings"
    out = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "SECRET_KEY must be set" in out.stderr


@pytest.mark.django_db
def test_security_headers_on_pages(client):
    response = client.get("/login/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
