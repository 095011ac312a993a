import json

import pytest

from tests.subprocess_django import PRODUCTION, run_django

HEALTHZ = """
from django.test import Client
response = Client().get("/healthz")
print(response.status_code, response.content.decode())
"""


def healthz_with(**env: str) -> tuple[int, dict]:
    result = run_django(HEALTHZ, DJANGO_SECURE_SSL_REDIRECT="0", **PRODUCTION, **env)
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    return int(status), json.loads(body)


@pytest.mark.django_db
def test_it_reports_both_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_naming_a_broker_that_is_down():
    assert healthz_with(
        DATABASE_URL="sqlite://:memory:", CELERY_BROKER_URL="redis://127.0.0.1:1/0"
    ) == (503, {"database": "ok", "broker": "down"})


def test_it_answers_503_naming_a_database_that_is_down():
    assert healthz_with(DATABASE_URL="postgres://postgres@127.0.0.1:1/billing") == (
        503,
        {"database": "down", "broker": "ok"},
    )


@pytest.mark.redis
@pytest.mark.django_db
def test_it_checks_the_real_redis_broker(client, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")

    assert client.get("/healthz").json()["broker"] == "ok"
