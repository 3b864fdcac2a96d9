from __future__ import annotations

from django.urls import path

from monitoring import plan_views as views

base = "api/sessions/<int:session_id>/plan/"
urlpatterns = [
    path(base, views.plan, name="plan"),
    path(f"{base}client/", views.client_link, name="plan-client"),
    path(f"{base}draft/", views.draft, name="plan-draft"),
    path(f"{base}versions/", views.versions, name="plan-versions"),
    path(f"{base}reuse/", views.reuse, name="plan-reuse"),
    path(f"{base}confirm/", views.confirm, name="plan-confirm"),
]
