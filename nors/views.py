from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and docker: answers without touching the database."""
    return HttpResponse("ok\n", content_type="text/plain")
