from django.contrib import admin
from django.urls import path

from . import views

admin.site.site_header = "Deepgram billing portal"
admin.site.site_title = "Billing portal"
admin.site.index_title = "Administration"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
