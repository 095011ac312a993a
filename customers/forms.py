"""Admin forms for key provisioning, rotation, import and portal invitations."""

import re
import uuid
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone

from .models import Customer, DeepgramProject

# The only scope a customer's key may have: read scopes would show the whole project's usage
# and keys (other customers' too), and `member` could create keys and change the project.
SCOPE_CHOICES = [("usage:write", "usage:write: transcribe and speak")]
TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:=-]{0,63}$")
MAX_TAGS = 20
MAX_TTL_SECONDS = 10 * 365 * 24 * 3600


class OneTimeTokenForm(forms.Form):
    """A form carrying a one-time token, so a second submit of the same page is recognised."""

    token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("token", uuid.uuid4())
        super().__init__(*args, **kwargs)


class ProvisionKeyForm(OneTimeTokenForm):
    project = forms.ModelChoiceField(queryset=DeepgramProject.objects.all(), empty_label=None)
    comment = forms.CharField(
        max_length=100, help_text="Shown in the Deepgram console; the portal adds a reference."
    )
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES, initial=["usage:write"], widget=forms.CheckboxSelectMultiple
    )
    tags = forms.CharField(
        required=False,
        help_text="Comma-separated, e.g. customer:acme, env:prod. Letters, digits and _ . : = -",
    )
    expires_on = forms.DateField(
        required=False,
        label="Expires on (UTC)",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for a key that does not expire.",
    )
    ttl_hours = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_TTL_SECONDS // 3600,
        label="Or time to live (hours)",
    )

    def __init__(self, *args, customer: Customer | None = None, **kwargs):
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("project", DeepgramProject.objects.filter(is_default=True).first())
        if customer is not None:
            initial.setdefault("comment", customer.name[:100])
        self.customer = customer
        super().__init__(*args, **kwargs)

    def clean_tags(self) -> list[str]:
        tags = [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]
        bad = [tag for tag in tags if not TAG.match(tag)]
        if bad:
            raise forms.ValidationError(f"Not a valid tag: {', '.join(bad)}")
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(f"At most {MAX_TAGS} tags.")
        return list(dict.fromkeys(tags))

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day is not None and day <= timezone.now().date():
            raise forms.ValidationError("The expiry date must be in the future.")
        return day

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("expires_on") and cleaned.get("ttl_hours"):
            raise forms.ValidationError("Give an expiry date or a time to live, not both.")
        if self.customer is not None and self.customer.status != Customer.Status.ACTIVE:
            raise forms.ValidationError(
                f"{self.customer} is {self.customer.get_status_display().lower()}: "
                "only active customers get keys."
            )
        return cleaned

    def expiry(self) -> dict:
        """Keyword arguments for the provisioning service."""
        day, hours = self.cleaned_data.get("expires_on"), self.cleaned_data.get("ttl_hours")
        expires_at = datetime.combine(day, time(0, 0), tzinfo=UTC) if day else None
        return {"expires_at": expires_at, "ttl_seconds": hours * 3600 if hours else None}


class RotateKeyForm(OneTimeTokenForm):
    REVOKE_NOW, REVOKE_LATER = "now", "later"
    when = forms.ChoiceField(
        label="Revoke the old key",
        choices=[(REVOKE_NOW, "Immediately"), (REVOKE_LATER, "At a chosen time (UTC)")],
        initial=REVOKE_NOW,
        widget=forms.RadioSelect,
    )
    revoke_at = forms.DateTimeField(
        required=False,
        label="Revoke at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Gives the customer time to switch to the new key.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("when") != self.REVOKE_LATER:
            cleaned["revoke_at"] = None
            return cleaned
        when = cleaned.get("revoke_at")
        if when is None:
            self.add_error("revoke_at", "Choose when to revoke the old key.")
        elif when <= timezone.now() + timedelta(minutes=1):
            self.add_error("revoke_at", "The time must be in the future.")
        return cleaned


class ImportKeyForm(forms.Form):
    key_id = forms.CharField(widget=forms.HiddenInput, max_length=64)
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.filter(status=Customer.Status.ACTIVE)
    )


class InviteUserForm(forms.Form):
    email = forms.EmailField()
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
