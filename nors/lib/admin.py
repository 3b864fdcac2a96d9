from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from nors.lib import roles


class SupervisorAdmin(admin.ModelAdmin):
    """Supervisors use the admin by their role, not by per-model permissions."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return roles.is_supervisor(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.is_supervisor(request.user)


class SupervisorEditsAdmin(SupervisorAdmin):
    """Lists supervisors keep up to date. Rows are retired, never deleted: plans point at them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return roles.is_supervisor(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.is_supervisor(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(SupervisorAdmin):
    """History is looked at, never edited: the admin only reads these tables."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
