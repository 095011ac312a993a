"""Settings are read from the environment; production mistakes stop start-up with one line."""

from pathlib import Path

import pytest

from tests.subprocess_django import PRODUCTION, ROOT, run_django


def run_settings(expression: str, **env: str):
    return run_django(f"from django.conf import settings as s; print({expression})", **env)


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
def test_it_stops_without_a_required_production_setting(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}

    result = run_settings("s.DEBUG", **env)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"Configuration error: {missing} must be set when DJANGO_DEBUG is off."
    ]


def test_it_turns_on_transport_security_with_debug_off():
    result = run_settings(
        "s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS > 0",
        **PRODUCTION,
    )

    assert result.stdout.split() == ["False", "True", "True", "True", "True"]


def test_it_lets_each_security_setting_be_overridden():
    result = run_settings(
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_HSTS_SECONDS="0",
        **PRODUCTION,
    )

    assert result.stdout.split() == ["False", "0"]


@pytest.mark.parametrize(
    ("trust", "expected"), [("1", "('HTTP_X_FORWARDED_PROTO', 'https')"), ("0", "None")]
)
def test_trusting_the_proxy_s_forwarded_proto_is_a_choice(trust, expected):
    result = run_settings(
        "s.SECURE_PROXY_SSL_HEADER", DJANGO_TRUST_X_FORWARDED_PROTO=trust, **PRODUCTION
    )

    assert result.stdout.strip() == expected, result.stderr


def test_it_runs_on_embedded_defaults_in_debug():
    result = run_settings(
        "s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.EMAIL_BACKEND, s.DEBUG",
        DJANGO_DEBUG="1",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "filesystem://",
        "billing_portal.mail.ConsoleSummaryBackend",  # consolemail://, attachments summed up
        "True",
    ]


def test_django_s_raw_console_backend_is_still_a_choice():
    raw = "django.core.mail.backends.console.EmailBackend"
    result = run_settings("s.EMAIL_BACKEND", DJANGO_DEBUG="1", EMAIL_BACKEND=raw)
    assert result.stdout.strip() == raw, result.stderr


def test_the_embedded_broker_keeps_all_its_files_under_var(tmp_path):
    probe = f"probe-{tmp_path.name}"
    result = run_django(
        "from kombu import Exchange, Queue\n"
        "from billing_portal.celery import app\n"
        "with app.connection_for_write() as connection:\n"
        f"    Queue('{probe}', Exchange('{probe}'), '{probe}')(connection.default_channel)"
        ".declare()\n"  # binds it: the exchange table is written, as a worker's is
        "print(app.conf.broker_transport_options['control_folder'])",
        cwd=tmp_path,
        DJANGO_DEBUG="1",
    )

    assert result.returncode == 0, result.stderr
    control = Path(result.stdout.strip())
    try:
        assert control == ROOT / "var" / "celery" / "control"
        assert (control / f"{probe}.exchange").exists()
        assert list(tmp_path.iterdir()) == []  # nothing where the process started
    finally:
        (control / f"{probe}.exchange").unlink(missing_ok=True)


def test_it_uses_redis_for_broker_and_cache_when_given():
    result = run_settings(
        "s.CELERY_BROKER_URL, s.CACHES['default']['BACKEND']",
        REDIS_URL="redis://127.0.0.1:6379/3",
        **PRODUCTION,
    )

    assert result.stdout.split() == [
        "redis://127.0.0.1:6379/3",
        "django.core.cache.backends.redis.RedisCache",
    ]


def test_it_talks_to_the_sandbox_without_a_deepgram_key():
    result = run_settings("s.DEEPGRAM_SANDBOX, s.DEEPGRAM_API_URL", **PRODUCTION)

    assert result.stdout.split() == ["True", "http://127.0.0.1:8787"]


def test_it_talks_to_deepgram_with_a_key():
    result = run_settings(
        "s.DEEPGRAM_SANDBOX, s.DEEPGRAM_API_URL, s.DEEPGRAM_PROJECT_ID",
        DEEPGRAM_API_KEY="dg-key",
        DEEPGRAM_PROJECT_ID="p-1",
        **PRODUCTION,
    )

    assert result.stdout.split() == ["False", "https://api.deepgram.com", "p-1"]


def test_it_lets_an_explicit_api_url_win():
    result = run_settings(
        "s.DEEPGRAM_API_URL",
        DEEPGRAM_API_KEY="dg-key",
        DEEPGRAM_PROJECT_ID="p-1",
        DEEPGRAM_API_URL="http://proxy:9000",
        **PRODUCTION,
    )

    assert result.stdout.strip() == "http://proxy:9000"


def test_it_stops_with_a_deepgram_key_but_no_project():
    result = run_settings("s.DEBUG", DEEPGRAM_API_KEY="dg-secret-value", **PRODUCTION)

    assert result.returncode != 0
    assert "DEEPGRAM_PROJECT_ID must be set" in result.stderr
    assert "dg-secret-value" not in result.stderr


def test_it_stops_without_a_deepgram_key_in_production_unless_the_sandbox_is_chosen():
    env = {k: v for k, v in PRODUCTION.items() if k != "DEEPGRAM_USE_SANDBOX"}

    result = run_settings("s.DEEPGRAM_SANDBOX", **env)

    assert result.returncode != 0
    assert "DEEPGRAM_API_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def test_it_sends_hsts_for_subdomains_and_leaves_preload_to_the_domain_owner():
    result = run_settings("s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD", **PRODUCTION)

    assert result.stdout.split() == ["True", "False"], result.stderr


def test_it_lets_hsts_subdomains_be_turned_off_and_preload_on():
    result = run_settings(
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
        DJANGO_SECURE_HSTS_PRELOAD="1",
        **PRODUCTION,
    )

    assert result.stdout.split() == ["False", "True"], result.stderr
