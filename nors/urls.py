from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from nors.views import healthz

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("twilio/", include("telephony.urls")),
    path("twilio/", include("monitoring.webhook_urls")),
    path("", include("monitoring.plan_urls")),
    path("", include("dispatch.api_urls")),
    path("", include("monitoring.urls")),
]
