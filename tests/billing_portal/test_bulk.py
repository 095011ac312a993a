"""The bulk helpers' database settings (the inserts are tested through the syncs and the
draft generation that use them)."""

import pytest
from django.db import connection

from billing_portal.bulk import memory_to_group


@pytest.mark.postgres
def test_a_sum_of_many_groups_gets_the_memory_to_stay_off_disk(db):
    def work_mem():
        with connection.cursor() as cursor:
            cursor.execute("SHOW work_mem")
            return cursor.fetchone()[0]

    default = work_mem()
    with memory_to_group(500):
        assert work_mem() == default
    with memory_to_group(30_000):  # about 1 kB a group: no spill to disk
        assert work_mem() == "34MB"
    with memory_to_group(10_000_000):
        assert work_mem() == "256MB"
