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
