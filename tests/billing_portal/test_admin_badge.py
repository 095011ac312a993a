import pytest


@pytest.mark.django_db
def test_it_shows_the_sandbox_badge_in_sandbox_mode(client, settings):
    settings.DEEPGRAM_SANDBOX = True

    assert b"SANDBOX" in client.get("/admin/login/").content


@pytest.mark.django_db
def test_it_hides_the_badge_against_the_real_api(client, settings):
    settings.DEEPGRAM_SANDBOX = False

    assert b"SANDBOX" not in client.get("/admin/login/").content
