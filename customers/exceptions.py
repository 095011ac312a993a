"""Domain errors of the customers app. Their text is shown to staff; it never holds a secret."""


class CustomersError(Exception):
    """Base class."""


class CustomerNotActive(CustomersError):
    pass


class DuplicateSubmission(CustomersError):
    """The one-time form token was used already (a double click or the back button)."""

    def __init__(self, attempt):
        self.attempt = attempt
        super().__init__("This form was already submitted; no second key was created.")


class ProvisionFailed(CustomersError):
    """No key was created. `field` names the form field to blame, when there is one."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


class RevokeFailed(CustomersError):
    pass


class ImportFailed(CustomersError):
    pass
