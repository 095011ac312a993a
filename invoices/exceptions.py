"""Domain errors of the invoices app; their text is shown to finance staff."""


class InvoicesError(Exception):
    pass


class InvoiceLocked(InvoicesError):
    """The invoice is issued (or void): it never changes."""


class InvalidTransition(InvoicesError):
    """The action does not apply to the invoice's status."""


class StaleDraft(InvoicesError):
    """Usage or prices changed since the draft was computed; refresh before approving."""


class FourEyesViolation(InvoicesError):
    """The approver added manual lines to this draft."""


class NoPlan(InvoicesError):
    pass


class InvalidPlan(InvoicesError):
    """The customer's plan for the month is invalid (see `services.plans.plan_problems_of`)."""


class ApprovalRefused(InvoicesError):
    """The draft cannot be approved as it stands (`selectors.approval_blockers` says why)."""


class PdfIntegrityError(InvoicesError):
    """A stored PDF no longer matches its checksum. It is never re-rendered silently."""


class EmailNotSent(InvoicesError):
    """The mail server refused or could not be reached; the attempt is recorded."""
