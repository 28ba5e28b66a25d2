"""``GET /metrics`` on the API server: Prometheus reads the wall where operators do.

Readable without a token from the wall's own host (a Prometheus on loopback,
the technician's `curl`), with a viewer token from anywhere else, like the
rest of the API. Behind a reverse proxy on the same host every client looks
like loopback: give the proxy a token instead (docs/operations.md).
"""

from __future__ import annotations

__all__ = ["metrics_extension"]

import ipaddress
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from compositor.api.routes import Extension, bearer, requires
from compositor.control.commands import Role
from compositor.metrics.collector import WallMetrics


def _from_loopback(request: Request) -> bool:
    host = request.client.host if request.client is not None else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a Unix socket or a test client: not an address, not loopback
        return False


def metrics_extension(metrics: WallMetrics) -> Extension:
    """The route, for :func:`compositor.api.routes.build_api`'s ``extensions``."""
    viewer = requires(Role.VIEWER)

    async def loopback_or_viewer(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if not _from_loopback(request):
            await viewer(request, credentials)  # 401 / 403 as for /api

    def add(api: FastAPI) -> None:
        # A plain def: FastAPI runs it in its thread pool, never on the server's event loop;
        # the collector reads the wall's shared state, never the render loop's.
        @api.get("/metrics", include_in_schema=False, dependencies=[Depends(loopback_or_viewer)])
        def get_metrics(request: Request) -> Response:
            body, content_type = metrics.exposition(request.headers.get("accept"))
            return Response(body, media_type=content_type)

    return add
