"""An expected 403 is one warning line in the log, without a traceback
(billing_portal.log_filters); a 500 keeps its traceback."""

import logging

from billing_portal.log_filters import ExpectedForbidden


def test_a_403_is_logged_once_without_its_traceback(client, support_user, caplog):
    client.force_login(support_user)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/admin/invoices/invoice/margin/")

    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Forbidden (Permission denied): /admin/invoices/invoice/margin/"
    assert record.exc_info is None and "Traceback" not in caplog.text


def test_other_errors_keep_their_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error",
            (),
            sys.exc_info(),
        )
    record.status_code = 500

    assert ExpectedForbidden().filter(record) is True
    assert record.exc_info is not None
