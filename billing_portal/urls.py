from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView

from invoices import portal as invoice_pages
from usage import portal as usage_pages
from usage import selectors as usage_selectors

from . import health

admin.site.site_header = "Deepgram billing portal"
admin.site.site_title = "Billing portal"
admin.site.index_title = "Administration"
admin.site.site_url = reverse_lazy("portal:home")  # "View site": the customers' portal
# The app list is on the index and in the breadcrumbs; a sidebar on every page took 300 px
# from the list tables, which then scrolled sideways at 1280 px.
admin.site.enable_nav_sidebar = False

portal_auth = [
    path("login/", auth_views.LoginView.as_view(template_name="portal/login.html"), name="login"),
    path(
        "logout/",
        auth_views.LogoutView.as_view(next_page=reverse_lazy("portal:login")),
        name="logout",
    ),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="portal/password_reset.html",
            email_template_name="portal/email/password_reset.txt",
            success_url=reverse_lazy("portal:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="portal/password_set.html",
            # Whoever just set a password from their e-mailed link is logged in at once.
            post_reset_login=True,
            post_reset_login_backend="django.contrib.auth.backends.ModelBackend",
            success_url=reverse_lazy("portal:home"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="portal/password_set_done.html"),
        name="password_reset_complete",
    ),
]

portal_pages = [
    path("", invoice_pages.dashboard, name="home"),
    path("invoices/", invoice_pages.invoice_list, name="invoices"),
    path("invoices/<uuid:public_id>/pdf/", invoice_pages.invoice_pdf, name="invoice_pdf"),
    path("usage/", usage_pages.usage_months, name="usage"),
    path("usage/<str:month>.csv", usage_pages.usage_csv, name="usage_csv"),
]

urlpatterns = [
    path(
        "healthz",
        health.Healthz.as_view(reports={"sync": usage_selectors.sync_health}),
        name="healthz",
    ),
    path("admin/", admin.site.urls),
    path("portal/", include(([*portal_auth, *portal_pages], "portal"))),
    path("", RedirectView.as_view(pattern_name="portal:home"), name="root"),
]
