import math
from datetime import date

import pytest

DAY = date(2026, 10, 5)


def test_it_pages_through_every_request_newest_first(client, sandbox, project_id, key_id):
    expected = sum(
        d.requests
        for d in client.usage_summary(project_id, start=DAY, end=DAY, accessor=key_id).results
    )
    sandbox.calls.clear()

    records = list(client.iter_requests(project_id, start=DAY, end=DAY, accessor=key_id, limit=25))

    assert len(records) == expected > 0
    assert len({record.request_id for record in records}) == expected
    created = [record.created for record in records]
    assert created == sorted(created, reverse=True)
    pages = [call.query["page"][0] for call in sandbox.calls]
    assert len(pages) == math.floor(expected / 25) + 1
    assert pages == [str(n) for n in range(len(pages))]


def test_it_stops_on_an_empty_first_page(client, sandbox, project_id, key_id):
    before_creation = date(2026, 8, 1)

    assert (
        list(
            client.iter_requests(
                project_id, start=before_creation, end=before_creation, accessor=key_id
            )
        )
        == []
    )
    assert len(sandbox.calls) == 1


@pytest.mark.parametrize("envelope", ["flat", "wrapped"])
def test_it_reads_both_get_request_envelopes(client, sandbox, project_id, key_id, envelope):
    first = next(client.iter_requests(project_id, start=DAY, end=DAY, accessor=key_id, limit=5))
    sandbox.configure(request_envelope=envelope)

    record = client.get_request(project_id, first.request_id)

    assert record == first
    assert record.api_key_id == key_id
    assert record.details is not None and record.details.duration > 0
    assert record.code == 200
