from __future__ import annotations

from django.urls import path

from dispatch import views

base = "api/sessions/<int:session_id>/alarm/"
urlpatterns = [
    path(f"{base}acknowledge/", views.acknowledge, name="alarm-acknowledge"),
    path(f"{base}close/", views.close, name="alarm-close"),
    path(f"{base}dispatch/", views.dispatch_task, name="alarm-dispatch-task"),
    path(f"{base}call/", views.dispatch_call, name="alarm-dispatch-call"),
    path(f"{base}call/hangup/", views.dispatch_call_hangup, name="alarm-dispatch-call-hangup"),
]
