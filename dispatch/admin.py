from __future__ import annotations

from django.contrib import admin

from dispatch.models import DispatchLine, OperatorPhone
from nors.lib.admin import SupervisorEditsAdmin


@admin.register(DispatchLine)
class DispatchLineAdmin(SupervisorEditsAdmin):
    list_display = ("region", "name", "phone", "last_verified", "active")
    list_filter = ("active", "region")
    search_fields = ("name", "region__name")


@admin.register(OperatorPhone)
class OperatorPhoneAdmin(SupervisorEditsAdmin):
    list_display = ("user",)
