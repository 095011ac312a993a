from django.contrib import admin

from .models import Customer, DeepgramProject


@admin.register(DeepgramProject)
class DeepgramProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "project_id", "is_default"]
    readonly_fields = ["project_id", "created_at"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "billing_email", "currency", "status", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["name", "legal_name", "billing_email"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
