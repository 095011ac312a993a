"""The product run the way production runs it: the Procfile's web, worker and beat (gunicorn
and Celery) with DEBUG off, on PostgreSQL and Redis, driven over real HTTP as finance and a
customer would: log in, approve a draft, the worker stores its PDF, the customer downloads it.

Slow next to the rest (a few processes start), and it needs both services: under CI=true it
fails loudly when either is missing.
"""

import hashlib
import html
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests
from django.conf import settings

from tests.concurrency import soon
from tests.subprocess_django import ROOT, clean_environment

BIN = Path(sys.executable).parent
FINANCE = ("finance", "demo-finance-pass")  # seed_demo's demo staff (seeded with DEBUG on)
CUSTOMER = ("ap@initech.example", "a-Long-smoke-passw0rd")
TIMEOUT = 60  # seconds for any one thing to happen
MAKE_CUSTOMER_USER = f"""
from django.contrib.auth import get_user_model
from customers.models import Customer, CustomerUser
user = get_user_model().objects.create_user({CUSTOMER[0]!r}, password={CUSTOMER[1]!r})
CustomerUser.objects.create(user=user, customer=Customer.objects.get(name="Initech Calls"))
"""

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


@pytest.fixture
def smoke_database():
    """A database of its own (the suite's test database is not visible to other processes
    before its transaction commits), dropped afterwards."""
    server = os.environ["DATABASE_URL"]
    name = f"smoke_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(with_path(server, "/postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield with_path(server, f"/{name}")
    with psycopg.connect(with_path(server, "/postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def production_env(smoke_database, sandbox, tmp_path):
    """Production's environment, but for plain HTTP on loopback; Redis database 7, emptied."""
    redis_url = with_path(os.environ["REDIS_URL"], "/7")
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = clean_environment(
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="smoke-" + "x" * 50,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SESSION_COOKIE_SECURE="0",
        DJANGO_CSRF_COOKIE_SECURE="0",
        DATABASE_URL=smoke_database,
        REDIS_URL=redis_url,
        DEEPGRAM_USE_SANDBOX="1",
        DEEPGRAM_API_URL=sandbox.url,
        DEEPGRAM_PROJECT_ID=settings.SANDBOX_PROJECT_ID,
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    yield env
    redis.Redis.from_url(redis_url).flushdb()


def manage(env: dict, *args: str, debug: bool = False) -> str:
    run_env = {**env, "DJANGO_DEBUG": "1"} if debug else env
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def procfile_commands(port: int) -> dict[str, list[str]]:
    """The Procfile's web, worker and beat lines, on a free port and two worker processes."""
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name in {"web", "worker", "beat"}:
            command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            commands[name] = shlex.split(command.replace("--concurrency 4", "--concurrency 2"))
    assert set(commands) == {"web", "worker", "beat"}
    return commands


@contextmanager
def processes(env: dict, commands: dict[str, list[str]], logs: Path):
    started = {}
    try:
        for name, command in commands.items():
            with (logs / f"{name}.log").open("w") as log:  # the child keeps its own copy
                started[name] = subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
        yield started
    finally:
        for process in started.values():
            with_group = os.getpgid(process.pid)
            os.killpg(with_group, signal.SIGTERM)
        for process in started.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(os.getpgid(process.pid), signal.SIGKILL)


def wait_for(what: str, check, logs: Path):
    found = soon(check, timeout=TIMEOUT, every=0.25)
    if found:
        return found
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(logs.glob("*")))
    pytest.fail(f"{what}: not within {TIMEOUT} s\n{tails}")


def csrf_of(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def hidden_fields(page: str) -> list[tuple[str, str]]:
    return [
        (html.unescape(name), html.unescape(value))
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    ]


def log_in(session: requests.Session, url: str, who: tuple[str, str]) -> None:
    page = session.get(url, timeout=10)
    username, password = who
    answer = session.post(
        url,
        data={**dict(hidden_fields(page.text)), "username": username, "password": password},
        headers={"Referer": url},
        timeout=10,
    )
    assert answer.status_code == 200 and "sessionid" in session.cookies, answer.text[-2000:]


def one_row(database: str, sql: str, *params):
    with psycopg.connect(database) as connection:
        return connection.execute(sql, params).fetchone()


def test_finance_approves_the_worker_stores_the_pdf_and_the_customer_downloads_it(
    production_env, smoke_database, tmp_path
):
    env = production_env
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo", debug=True)  # demo passwords, printed only with DEBUG on
    manage(env, "shell", "-c", MAKE_CUSTOMER_USER)
    draft_id, public_id = one_row(
        smoke_database,
        "SELECT i.id, i.public_id FROM invoices_invoice i JOIN customers_customer c "
        "ON c.id = i.customer_id WHERE c.name = 'Initech Calls' AND i.status = 'draft'",
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = tmp_path / "logs"
    logs.mkdir()

    with processes(env, procfile_commands(port), logs) as running:

        def healthy():
            try:
                return requests.get(f"{base}/healthz", timeout=5).status_code == 200
            except requests.RequestException:  # not listening yet, or still starting
                return False

        wait_for("the web server answers /healthz", healthy, logs)
        finance = requests.Session()
        log_in(finance, f"{base}/admin/login/", FINANCE)
        changelist = f"{base}/admin/invoices/invoice/"
        listed = finance.get(changelist, timeout=10).text
        confirm = finance.post(
            changelist,
            data={"csrfmiddlewaretoken": csrf_of(listed), "action": "approve_selected",
                  "_selected_action": draft_id, "index": "0"},
            headers={"Referer": changelist},
            timeout=30,
        )  # fmt: skip
        assert "will be issued" in confirm.text, confirm.text[-2000:]
        issued = finance.post(
            changelist,
            data=hidden_fields(confirm.text),
            headers={"Referer": changelist},
            timeout=30,
        )
        assert "Issued 1" in issued.text, issued.text[-2000:]

        sha256 = wait_for(
            "the worker stores the issued invoice's PDF",
            lambda: one_row(
                smoke_database, "SELECT pdf_sha256 FROM invoices_invoice WHERE id = %s", draft_id
            )[0],
            logs,
        )
        customer = requests.Session()
        log_in(customer, f"{base}/portal/login/", CUSTOMER)
        pdf = customer.get(f"{base}/portal/invoices/{public_id}/pdf/", timeout=30)
        # Beat (schedules from the database) is up too, as are the others, to the end.
        assert {name: p.poll() for name, p in running.items()} == dict.fromkeys(running)
        assert "beat: Starting" in (logs / "beat.log").read_text()

    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and hashlib.sha256(pdf.content).hexdigest() == sha256
