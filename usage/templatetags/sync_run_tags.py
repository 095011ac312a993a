"""The admin index's warning about a held sync run (stopped before it wrote a mass cut)."""

from django import template

from usage import selectors

register = template.Library()


@register.inclusion_tag("admin/usage/held_run_banner.html", takes_context=True)
def held_run_banner(context):
    """A warning on the admin index while the latest sync run is held, for the staff who can
    act on it (accept the cut, start a sync)."""
    if not context["request"].user.has_perm("usage.start_syncrun"):
        return {"run": None}
    return {"run": selectors.held_sync_run()}
