from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from billing_portal.admin_mixins import PagesAdminMixin, ReadOnlyAdminMixin, person_column

from . import admin_views, services
from .models import ApiKey, Customer, CustomerUser, DeepgramProject, KeyEvent

BILLING_FIELDS = ["legal_name", "billing_email", "address", "country", "tax_id", "currency"]


@admin.register(DeepgramProject)
class DeepgramProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "project_id", "is_default"]
    readonly_fields = ["created_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "project_id"] if obj else self.readonly_fields


class ApiKeyInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ApiKey
    fk_name = "customer"
    fields = ["key_link", "status", "comment", "project", "created_at", "expires_at"]
    readonly_fields = fields
    extra = 0
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer", "project")

    @admin.display(description="Key id")
    def key_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:customers_apikey_change", args=[obj.pk]),
            obj.key_id,
        )


class CustomerUserInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CustomerUser
    fields = ["user", "invited_at", "invited_by"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "customer", "invited_by")


@admin.register(Customer)
class CustomerAdmin(PagesAdminMixin, admin.ModelAdmin):
    list_display = ["name", "billing_email", "currency", "status", "active_keys", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["name", "legal_name", "billing_email", "api_keys__key_id"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [ApiKeyInline, CustomerUserInline]
    pages = {
        "<int:customer_id>/provision-key/": admin_views.provision_key,
        "<int:customer_id>/invite-user/": admin_views.invite_user,
    }
    fieldsets = [
        (None, {"fields": ["name", "status", "notes"]}),
        ("Billing details", {"fields": BILLING_FIELDS}),
        ("Record", {"fields": ["public_id", "created_at", "updated_at"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        # A new customer has no public id yet: the one shown would not be the one saved.
        return self.fieldsets if obj else self.fieldsets[:2]

    def get_queryset(self, request):
        active = Q(api_keys__status=ApiKey.Status.ACTIVE)
        return super().get_queryset(request).annotate(active_keys=Count("api_keys", filter=active))

    @admin.display(description="Active keys", ordering="active_keys")
    def active_keys(self, obj):
        return obj.active_keys

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or request.user.has_perm(
            "customers.change_customer_billing"
        )

    def get_readonly_fields(self, request, obj=None):
        if request.user.has_perm("customers.change_customer"):
            return self.readonly_fields
        # Finance edits the billing details only.
        every = [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]
        return [f for f in every if f not in BILLING_FIELDS]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdminMixin, PagesAdminMixin, admin.ModelAdmin):
    list_display = ["key_id", "customer", "status_note", "comment", "created_at"]
    list_filter = ["status", "project", "customer"]
    list_select_related = ["customer", "project"]
    search_fields = ["key_id", "comment", "customer__name"]
    fields = [
        "key_id",
        "customer",
        "project",
        "status",
        "comment",
        "scope_list",
        "tag_list",
        "expires_at",
        "imported",
        "replaces",
        "replacement",
        "created_at",
        "creator",
        "revoke_at",
        "revoked_at",
        "revoker",
    ]
    readonly_fields = fields
    actions = ["revoke_selected"]
    pages = {
        "reconcile/": admin_views.reconcile_keys,
        "<int:key_pk>/rotate/": admin_views.rotate_key,
    }

    @admin.display(description="Status", ordering="status")
    def status_note(self, obj):
        if obj.status == ApiKey.Status.ACTIVE and obj.revoke_at:
            return f"Active until {obj.revoke_at:%Y-%m-%d %H:%M} UTC (then revoked)"
        if obj.status == ApiKey.Status.ACTIVE and obj.expires_at:
            return f"Active, expires {obj.expires_at:%Y-%m-%d}"
        return obj.get_status_display()

    @admin.display(description="Replaced by")
    def replacement(self, obj):
        """The key that rotation made to replace this one, linked; "-" when none."""
        new = ApiKey.objects.filter(replaces=obj).only("pk", "key_id").first()
        if new is None:
            return "-"
        url = reverse("admin:customers_apikey_change", args=[new.pk])
        return format_html('<a href="{}">{}</a>', url, new.key_id)

    @admin.display(description="Scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes) or "-"

    @admin.display(description="Tags")
    def tag_list(self, obj):
        return ", ".join(obj.tags) or "-"

    creator = person_column("created_by", "Created by")
    revoker = person_column("revoked_by", "Revoked by")

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        return admin_views.revoke_keys(self, request, queryset)

    def has_revoke_permission(self, request):
        return request.user.has_perm("customers.revoke_apikey")


@admin.register(KeyEvent)
class KeyEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "action", "outcome", "key_id", "customer", "actor", "detail"]
    list_filter = ["action", "outcome"]
    list_select_related = ["customer", "actor"]
    search_fields = ["key_id", "customer__name", "detail"]
    date_hierarchy = "at"


@admin.register(CustomerUser)
class CustomerUserAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "customer", "invited_at", "invited_by", "last_login"]
    list_select_related = ["user", "customer", "invited_by"]
    search_fields = ["user__email", "customer__name"]
    actions = ["resend_invitation"]

    @admin.display(description="Last login", ordering="user__last_login")
    def last_login(self, obj):
        return obj.user.last_login

    @admin.action(description="Resend the invitation e-mail", permissions=["invite"])
    def resend_invitation(self, request, queryset):
        portal_url = request.build_absolute_uri("/")
        sent = 0
        for membership in queryset.select_related("user", "customer"):
            services.customer_user_send_invitation(membership=membership, portal_url=portal_url)
            sent += 1
        self.message_user(request, f"Sent {sent} invitation(s).", messages.SUCCESS)

    def has_invite_permission(self, request):
        # Users are added by invitation from the customer's page, never by the add form.
        return request.user.has_perm("customers.add_customeruser")
