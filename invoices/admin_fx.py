"""Finance's exchange rates: typed here one by one, or imported from the ECB's file with
`manage.py import_fx_rates` (registered by `admin`)."""

from django.contrib import admin

from .models import ExchangeRate


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["day", "currency", "per_usd", "source", "updated_at"]
    list_filter = ["currency"]
    search_fields = ["currency", "source"]
    date_hierarchy = "day"
    fields = ["day", "currency", "per_usd", "source", "updated_at"]
    readonly_fields = ["updated_at"]
    list_per_page = 100

    def get_changeform_initial_data(self, request):
        return {
            "source": f"typed by {request.user.get_username()}",
            **super().get_changeform_initial_data(request),
        }
