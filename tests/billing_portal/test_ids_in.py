"""`field__ids_in`: the rows whose id (or foreign key) is one of the ids, as `__in` finds them,
with the ids as one array parameter on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer


@pytest.fixture
def customers(db):
    return [
        Customer.objects.create(name=f"C{n}", billing_email=f"c{n}@example.com") for n in range(5)
    ]


def test_it_finds_what_in_finds(customers):
    ids = [customers[0].pk, customers[3].pk, 999_999]

    found = set(Customer.objects.filter(pk__ids_in=ids).values_list("pk", flat=True))

    assert found == set(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True))
    assert found == {customers[0].pk, customers[3].pk}


def test_no_ids_find_no_row_and_ask_nothing(customers):
    with CaptureQueriesContext(connection) as queries:
        assert list(Customer.objects.filter(pk__ids_in=[])) == []
    assert len(queries) == 0


def test_it_works_on_a_foreign_key(customers, key_of):
    key = key_of(customers[1])
    from customers.models import ApiKey

    assert list(ApiKey.objects.filter(customer_id__ids_in=[customers[1].pk])) == [key]
    assert list(ApiKey.objects.filter(customer__ids_in=[customers[2].pk])) == []


def test_thousands_of_ids_are_one_parameter_on_postgresql(customers):
    ids = [*range(1_000_000, 1_020_000), customers[4].pk]
    with CaptureQueriesContext(connection) as queries:
        assert Customer.objects.filter(pk__ids_in=ids).count() == 1
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries[0]["sql"] and " IN (" not in queries[0]["sql"]


@pytest.mark.postgres
def test_the_array_has_the_column_type_so_that_postgresql_can_hash_it(customers, key_of):
    # psycopg sends small ids as a smallint[]; bigint = smallint is not hashed, so each row
    # would be compared with every id of the array.
    from customers.models import ApiKey

    key = key_of(customers[1])
    many = ApiKey.objects.filter(
        customer_id__ids_in=[*range(1_000_000, 1_010_000), customers[1].pk]
    )
    sql, _ = many.query.sql_with_params()
    assert sql.count("= ANY(%s::bigint[])") == 1
    assert list(many) == [key]
