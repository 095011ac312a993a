"""Recording accounting exports: each file finance downloads is kept with who, when, the
layout, range, documents and payments it held, and its SHA-256 (`invoices.AccountingExport`).
"""

import csv
import hashlib
import io
from datetime import date

from django.db import transaction

from ..exports import build_export, exported_before
from ..models import AccountingExport

__all__ = ["export_record"]


def export_record(
    *, layout: str, start: date, end: date, actor, leave_out_exported: bool = True
) -> AccountingExport:
    """Build the export and record it. With `leave_out_exported`, what an earlier export of
    the same layout held is left out (nothing imported twice)."""
    skip_docs: list[int] = []
    skip_pays: list[int] = []
    if leave_out_exported:
        overlap = exported_before(layout, start, end)
        skip_docs, skip_pays = list(overlap.documents), list(overlap.payments)
    built = build_export(layout, start, end, skip_documents=skip_docs, skip_payments=skip_pays)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(built.header)
    writer.writerows(built.rows)
    content = buffer.getvalue()
    with transaction.atomic():
        export = AccountingExport.objects.create(
            layout=layout,
            start=start,
            end=end,
            created_by=actor,
            filename=built.filename,
            content=content,
            sha256=hashlib.sha256(content.encode()).hexdigest(),
            rows=len(built.rows),
        )
        export.documents.set(built.documents)
        export.payments.set(built.payments)
    return export
