from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class RunChainInOneThread:
    """Sync-only, and last in MIDDLEWARE, so Django runs the whole chain in one thread.

    Under ASGI an async-capable chain makes every middleware hop into a thread for each of its
    hooks (up to sixteen hops a request, a few milliseconds of CPU). One sync-only middleware
    at the bottom turns the chain around it synchronous: one hop in, one to reach the view.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
