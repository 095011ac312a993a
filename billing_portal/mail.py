"""The console e-mail backend of `make run` (`EMAIL_URL=consolemail://`, the default): each
message as a person would read it (its headers and text, and its HTML part's size) with one
line per attachment (name, type, size) instead of the attachment's base64, which is 1,200
lines for an invoice's PDF. Django's own console backend is still there for whoever wants
the raw message: `EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend`."""

from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

__all__ = ["ConsoleSummaryBackend"]

RULE = "-" * 79


class ConsoleSummaryBackend(DjangoConsoleBackend):
    def write_message(self, message):
        lines = [
            f"Subject: {message.subject}",
            f"From: {message.from_email}",
            f"To: {', '.join(message.to)}",
        ]
        if message.cc:
            lines.append(f"Cc: {', '.join(message.cc)}")
        if message.reply_to:
            lines.append(f"Reply-To: {', '.join(message.reply_to)}")
        lines += ["", message.body.rstrip()]
        for content, mimetype in getattr(message, "alternatives", ()):
            lines.append(f"[alternative: {mimetype}, {len(content):,} characters]")
        for attachment in message.attachments:
            lines.append(_attachment_line(attachment))
        self.stream.write("\n".join(lines) + f"\n{RULE}\n")


def _attachment_line(attachment) -> str:
    """One line for an attachment: a (name, content, type) tuple or a MIME part."""
    if isinstance(attachment, tuple):
        name, content, mimetype = attachment
    else:
        name = attachment.get_filename()
        content, mimetype = (
            attachment.get_payload(decode=True) or b"",
            attachment.get_content_type(),
        )
    return f"[attachment: {name}, {mimetype}, {len(content):,} bytes]"
