"""The management key never appears in an error, a log record or a repr()."""

import logging

import pytest
from django.conf import settings

from billing_portal.deepgram import DeepgramError

FAULTS = [
    {"kind": "rate_limit", "retry_after": 1},
    {"kind": "server_error", "status": 502},
    {"kind": "timeout", "delay": 1.0},
    {"kind": "malformed"},
    {"kind": "wrong_shape"},
    {"kind": "text_error", "status": 401},
    {"kind": "error", "status": 404},
]


def test_it_keeps_the_key_out_of_errors_and_logs(client, sandbox, project_id, caplog):
    caplog.set_level(logging.DEBUG)
    texts = []
    for fault in FAULTS:
        sandbox.queue_fault(count=10, **fault)
        with pytest.raises(DeepgramError) as caught:
            client.list_keys(project_id)
        texts += [str(caught.value), repr(caught.value), caught.value.message]
        sandbox.clear_faults()
    with pytest.raises(DeepgramError) as caught:
        client.create_key(project_id, comment="", scopes=["member"])
    texts.append(str(caught.value))

    assert caplog.records, "retries are logged"
    texts += [record.getMessage() for record in caplog.records]
    assert all(settings.SANDBOX_API_KEY not in text for text in texts)


def test_it_keeps_a_wrong_key_out_of_the_error(make_client, caplog):
    secret = "dg-secret-that-must-not-leak-42"
    client = make_client(api_key=secret)

    with pytest.raises(DeepgramError) as caught:
        client.list_projects()

    assert secret not in str(caught.value)
    assert secret not in repr(client)
    assert all(secret not in record.getMessage() for record in caplog.records)


def test_it_scrubs_the_key_if_deepgram_echoes_it(client, sandbox):
    echoed = f"Key {settings.SANDBOX_API_KEY} lacks the scope keys:write"
    sandbox.queue_fault("error", status=403, message=echoed)

    with pytest.raises(DeepgramError) as caught:
        client.list_projects()

    assert "lacks the scope keys:write" in str(caught.value)
    assert settings.SANDBOX_API_KEY not in str(caught.value)
