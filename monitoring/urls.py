from __future__ import annotations

from django.urls import path

from monitoring import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("api/sessions/<int:session_id>/claim/", views.claim, name="session-claim"),
    path("api/sessions/<int:session_id>/release/", views.release, name="session-release"),
    path("api/sessions/<int:session_id>/transfer/", views.transfer, name="session-transfer"),
    path("api/sessions/<int:session_id>/end/", views.end, name="session-end"),
    path("api/sessions/<int:session_id>/reply/", views.reply, name="session-reply"),
    path("api/sessions/<int:session_id>/phone/", views.reveal_phone, name="session-phone"),
    path(
        "api/sessions/<int:session_id>/monitoring/start/",
        views.monitoring_start,
        name="monitoring-start",
    ),
    path(
        "api/sessions/<int:session_id>/monitoring/end/", views.monitoring_end, name="monitoring-end"
    ),
    path(
        "api/sessions/<int:session_id>/monitoring/resume/",
        views.monitoring_resume,
        name="monitoring-resume",
    ),
    path("review/", views.sessions_review, name="sessions-review"),
    path("review/sessions/<int:session_id>/", views.timeline, name="session-timeline"),
]
