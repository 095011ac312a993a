"""Logging filters (see `LOGGING` in settings).

`ExpectedForbidden`: a 403 is an answer, not a fault: Support opening a finance page, a
customer asking for another customer's invoice. Django logs it as a warning with the
`PermissionDenied` traceback, which buries real errors in the console of `make run` and in
production logs; the warning line stays (who asked for what), the traceback goes.
"""

import logging

__all__ = ["ExpectedForbidden"]


class ExpectedForbidden(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info, record.exc_text = None, None
        return True
