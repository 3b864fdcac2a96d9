"""Supervisors see codes and plan history, never the plans' personal details."""

from __future__ import annotations

from django.contrib import admin

from clients.models import Client, PlanVersion, Region
from nors.lib.admin import ReadOnlyAdmin, SupervisorEditsAdmin


@admin.register(Client)
class ClientAdmin(ReadOnlyAdmin):
    list_display = ("code", "created_at")
    search_fields = ("code",)
    fields = ("code", "created_at")


@admin.register(PlanVersion)
class PlanVersionAdmin(ReadOnlyAdmin):
    list_display = (
        "client",
        "number",
        "status",
        "response",
        "region",
        "created_at",
        "confirmed_at",
    )
    list_filter = ("status", "response")
    search_fields = ("client__code",)
    fields = (
        "client",
        "number",
        "status",
        "response",
        "region",
        "language",
        "created_at",
        "created_by",
        "session_id",
        "confirmed_at",
        "confirmed_by",
    )


@admin.register(Region)
class RegionAdmin(SupervisorEditsAdmin):
    list_display = ("name", "active")
    list_filter = ("active",)
    search_fields = ("name",)
