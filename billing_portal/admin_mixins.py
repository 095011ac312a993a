"""Admin building blocks shared by the apps."""


class ReadOnlyAdminMixin:
    """For rows that only services write: viewable, never added, edited or deleted in the
    admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
