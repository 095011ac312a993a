"""The console e-mail backend of `make run` (billing_portal.mail): an invoice's e-mail as a
person reads it, its PDF as one line, never its base64."""

import io

from django.core.mail import EmailMultiAlternatives

from billing_portal.mail import ConsoleSummaryBackend


def test_an_attachment_is_one_line_with_its_name_type_and_size():
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 200  # 51,209 bytes
    message = EmailMultiAlternatives(
        subject="Invoice INV-2026-000001 from Example Seller",
        body="Dear customer,\n\nYour invoice is attached.\n",
        from_email="billing@seller.example",
        to=["ap@customer.example"],
        reply_to=["finance@seller.example"],
    )
    message.attach_alternative("<p>Your invoice is attached.</p>", "text/html")
    message.attach("INV-2026-000001.pdf", pdf, "application/pdf")
    stream = io.StringIO()

    assert ConsoleSummaryBackend(stream=stream).send_messages([message]) == 1

    printed = stream.getvalue().splitlines()
    assert printed[:4] == [
        "Subject: Invoice INV-2026-000001 from Example Seller",
        "From: billing@seller.example",
        "To: ap@customer.example",
        "Reply-To: finance@seller.example",
    ]
    assert "Your invoice is attached." in printed
    assert "[alternative: text/html, 32 characters]" in printed
    assert "[attachment: INV-2026-000001.pdf, application/pdf, 51,209 bytes]" in printed
    assert printed[-1] == "-" * 79
    assert len(printed) < 15  # Django's own prints some 900 lines of base64 for this PDF


def test_a_mime_part_attachment_is_summed_up_too():
    from email.mime.application import MIMEApplication

    part = MIMEApplication(b"a,b\n1,2\n", "csv")
    part.add_header("Content-Disposition", "attachment", filename="export.csv")
    message = EmailMultiAlternatives(subject="Export", body="Attached.", to=["f@example.com"])
    message.attach(part)
    stream = io.StringIO()

    ConsoleSummaryBackend(stream=stream).send_messages([message])

    assert "[attachment: export.csv, application/csv, 8 bytes]" in stream.getvalue()
