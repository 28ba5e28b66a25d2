"""The HTTP API and the control page: routes, access, errors, the event stream.

:func:`build_api` makes the FastAPI application a running wall serves
(:mod:`compositor.api.server` runs it with uvicorn in its own thread). Every
request under ``/api`` needs ``Authorization: Bearer <token>``; a change becomes
one of the wall's commands (:mod:`compositor.control.commands`) handed to the
render loop through the :class:`~compositor.control.inbox.CommandInbox`, exactly
as the control socket's requests are, with the token's name and role as the actor.

Errors are JSON objects whose ``error`` says what is wrong and what exists
(``unknown camera 'cam7' (did you mean cam07, cam17?)``), with the data beside
it (``nearest``, ``tiles``); they never echo a value sent in, which could be a
secret. Request bodies are checked by pydantic models that forbid unknown fields.

Extending: ``build_api(context, extensions=[add_metrics])`` calls each extension
with the application after the built-in routes are in place; ``app.state.requires(role)``
is the dependency that checks a token for that role (``Depends(app.state.requires(Role.VIEWER))``).
"""

from __future__ import annotations

__all__ = [
    "MAX_BODY_BYTES",
    "AlarmBody",
    "ApiContext",
    "CallUpBody",
    "Extension",
    "bearer",
    "SoloBody",
    "build_api",
    "requires",
]

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from compositor.api.throttle import FailureThrottle
from compositor.api.tokens import TokenStore
from compositor.compose.canvas import CanvasImage
from compositor.control.commands import (
    Actor,
    AlarmTitle,
    CameraId,
    ClearAlarm,
    ClearCallUp,
    ClearSolo,
    Command,
    GetCameras,
    GetLayout,
    GetStatus,
    HoldSeconds,
    ListAlarms,
    ListPresets,
    Priority,
    RaiseAlarm,
    Reload,
    Revert,
    Role,
    SetCallUp,
    ShowPreset,
    Solo,
    TtlSeconds,
)
from compositor.control.inbox import CommandInbox
from compositor.control.pictures import PictureDesk, PictureKey
from compositor.core.clock import Clock
from compositor.core.colour import chroma_size
from compositor.core.errors import (
    BusyError,
    CompositorError,
    ForbiddenError,
    NotFoundError,
    RefusedError,
)
from compositor.core.events import EventRing
from compositor.core.geometry import TileRect
from compositor.live.journal import Journal

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_STREAMS = 32  # event streams open at once: each holds a connection and a poll
STREAM_POLL_S = 0.25  # how often an event stream looks for news
KEEPALIVE_S = 15.0  # a comment line this often, so proxies and browsers keep the stream
JPEG_QUALITY = 80
JPEG_FRESH_S = 0.2  # a snapshot this young is served again (the page refreshes each second)

Extension = Callable[[FastAPI], None]


@dataclass
class ApiContext:
    """What the API reaches of the wall; all of it is safe from the server's threads."""

    inbox: CommandInbox
    pictures: PictureDesk
    events: EventRing
    tokens: TokenStore
    journal: Journal
    clock: Clock
    throttle: FailureThrottle = field(default_factory=FailureThrottle)
    stopping: threading.Event = field(default_factory=threading.Event)
    streams: int = 0  # event streams open now (changed on the server's event loop only)
    jpegs: JpegCache = field(default_factory=lambda: JpegCache())


class JpegCache:
    """Pictures encoded in the last moment, for the next asker of the same one.

    Several browsers refreshing the same screen (and a script polling it) then cost one
    conversion and encoding per ``fresh_s``, not one each: the conversion to BGR runs in
    the wall's own process. A picture is never served across a change of the wall (any
    event: a call-up, a preset, an alarm), so "call up, then look" shows the new tile.
    Bounded: the oldest pictures leave first.
    """

    def __init__(self, fresh_s: float = JPEG_FRESH_S, capacity: int = 64) -> None:
        self._fresh_s = fresh_s
        self._capacity = capacity
        self._kept: dict[object, tuple[float, int, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, key: object, now: float, version: int) -> bytes | None:
        with self._lock:
            kept = self._kept.get(key)
        if kept is None or now - kept[0] > self._fresh_s or kept[1] != version:
            return None
        return kept[2]

    def put(self, key: object, data: bytes, now: float, version: int) -> None:
        with self._lock:
            self._kept.pop(key, None)
            self._kept[key] = (now, version, data)
            while len(self._kept) > self._capacity:
                del self._kept[next(iter(self._kept))]


class _Body(BaseModel):
    # extra="forbid": a misspelt field is an error (422), never silently ignored.
    model_config = ConfigDict(extra="forbid")


class CallUpBody(_Body):
    camera: CameraId
    hold_s: HoldSeconds | None = None


class SoloBody(_Body):
    camera: CameraId
    hold_s: HoldSeconds | None = None


class AlarmBody(_Body):
    camera: CameraId
    priority: Priority = 5
    ttl_s: TtlSeconds = 60.0
    title: AlarmTitle = ""


class ErrorBody(BaseModel):
    """What is wrong, in words; data about what exists may come beside it."""

    model_config = ConfigDict(extra="allow")
    error: str


_STATUS = {
    NotFoundError: 404,
    ForbiddenError: 403,
    RefusedError: 409,
    BusyError: 503,
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "A malformed header (Content-Length)"},
    401: {"model": ErrorBody, "description": "No token, or not a valid one"},
    403: {"model": ErrorBody, "description": "The token's role may not do this"},
    413: {"model": ErrorBody, "description": "Body over 64 KB"},
    422: {"model": ErrorBody, "description": "A malformed request: the fields at fault"},
    503: {"model": ErrorBody, "description": "The wall is busy: try again"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "It names something the wall does not have"}
}
_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The wall cannot do it as things stand"}
}

OutputId = Annotated[str, Path(min_length=1, max_length=64, description="An output's id")]
CameraPath = Annotated[str, Path(min_length=1, max_length=64, description="A camera's id")]
TilePath = Annotated[
    int, Path(ge=1, le=10_000, description="The tile's number from 1, in the layout's order")
]


bearer = HTTPBearer(auto_error=False, description="A token from `videowall token add`")


def requires(role: Role) -> Callable[..., Awaitable[Actor]]:
    """The dependency that lets a request through with a token of ``role`` or above.

    401 the same way for no token and a wrong one; 403 (audited) for a role too low.
    The wall's :class:`ApiContext` is the application's ``state.context``.
    """

    async def actor(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Actor:
        context: ApiContext = request.app.state.context
        who = await _authenticate(context, request, credentials)
        if who.role < role:
            context.journal.change(
                "forbidden",
                who.name,
                who.role.label,
                publish=False,
                target=f"{request.method} {request.url.path}",
                result="refused",
                reason=f"needs the {role.label} role",
            )
            raise ForbiddenError(
                f"this needs the {role.label} role ({who.name} is {who.role.label})"
            )
        return who

    return actor


# Module level, not inside build_api: FastAPI reads these annotations by name.
Viewer = Annotated[Actor, Depends(requires(Role.VIEWER))]
Operator = Annotated[Actor, Depends(requires(Role.OPERATOR))]
Admin = Annotated[Actor, Depends(requires(Role.ADMIN))]
Width = Annotated[int | None, Query(ge=16, le=8192, description="Scale down to this width (px)")]
Quality = Annotated[int, Query(ge=30, le=95, description="JPEG quality")]
PresetName = Annotated[str, Path(min_length=1, max_length=64, description="A preset's name")]
AlarmId = Annotated[str, Path(min_length=1, max_length=64, description="An alarm's id")]
LastEventId = Annotated[str | None, Header(max_length=20)]
Since = Annotated[int | None, Query(ge=0, description="Resume after this event number")]


def _error(
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    data: Mapping[str, Any] | None = None,
) -> JSONResponse:
    return JSONResponse({"error": message, **(data or {})}, status_code=status, headers=headers)


def _status_of(exc: CompositorError) -> int:
    for kind, status in _STATUS.items():
        if isinstance(exc, kind):
            return status
    return 400


class _Guard:
    """Pure ASGI: refuses bodies over ``limit`` (413) before the app reads them, and puts
    the security headers on every answer (no sniffing, no framing, no caching)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _send_json(send, 400, {"error": "Content-Length is not a number"})
                return
            if int(declared) > self.limit:
                await _send_json(send, 413, {"error": _too_large(self.limit)})
                return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, {"error": _too_large(self.limit)})


class _TooLarge(Exception):
    pass


def _too_large(limit: int) -> str:
    return f"the request body is over {limit // 1024} KB: no request needs that much"


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def _validation_message(exc: RequestValidationError) -> tuple[str, list[dict[str, str]]]:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ())) or "request"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "json_invalid":
            message = "not valid JSON"
        elif error.get("type") == "extra_forbidden":
            message = "unknown field"
        problems.append({"where": where, "problem": message})
    text = "; ".join(f"{p['where']}: {p['problem']}" for p in problems)
    return f"bad request: {text}", problems


def _static_dir() -> str:
    return str(resources.files("compositor.api") / "static")


def build_api(context: ApiContext, extensions: Sequence[Extension] = ()) -> FastAPI:
    """The application: ``/`` (the control page), ``/api/...``, ``/openapi.json``."""
    api = FastAPI(
        title="videowall",
        summary="Drive the running video wall: call-ups, solos, presets, alarms, snapshots",
        version="1",
        docs_url=None,  # Swagger's page loads its scripts from the internet: not here
        redoc_url=None,
        openapi_url="/openapi.json",
        responses=_ERRORS,
    )
    api.state.context = context
    api.state.requires = requires

    @api.exception_handler(CompositorError)
    async def compositor_error(request: Request, exc: CompositorError) -> JSONResponse:
        details = exc.details if isinstance(exc, NotFoundError) else {}
        return _error(_status_of(exc), str(exc), data=details)

    @api.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, problems = _validation_message(exc)
        return _error(422, message, data={"problems": problems})

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return _error(404, f"no such path {request.url.path!r}: see /openapi.json")
        if exc.status_code == 405:
            return _error(405, f"{request.method} is not allowed on {request.url.path}")
        if exc.status_code == 400:  # FastAPI's "error parsing the body": bytes, not JSON text
            return _error(422, "bad request: the body is not JSON (UTF-8 text)")
        return _error(exc.status_code, str(exc.detail), headers=exc.headers)

    def run(command: Command, actor: Actor) -> dict[str, Any]:
        try:
            return context.inbox.submit(command, actor)
        except ForbiddenError as exc:
            context.journal.change(
                "forbidden",
                actor.name,
                actor.role.label,
                publish=False,
                target=command.command,
                result="refused",
                reason=str(exc),
            )
            raise

    # -- reading -------------------------------------------------------------------------

    @api.get("/api/status", tags=["wall"])
    def status(actor: Viewer) -> dict[str, Any]:
        """What ``status.json`` says: the layout, the last change, every camera, the overrides."""
        status: dict[str, Any] = run(GetStatus(command="status"), actor)["status"]
        return status

    @api.get("/api/cameras", tags=["wall"])
    def cameras(actor: Viewer) -> dict[str, Any]:
        """Every camera of the layout: state, reason, frames, p50/p99 frame age, where shown."""
        return run(GetCameras(command="cameras"), actor)

    @api.get("/api/layout", tags=["wall"])
    def layout(actor: Viewer) -> dict[str, Any]:
        """The arrangement on the wall: outputs where they hang, each tile with what it shows,
        the preset, call-ups, solos and alarms."""
        return run(GetLayout(command="layout"), actor)

    @api.get("/api/presets", tags=["presets"])
    def presets(actor: Viewer) -> dict[str, Any]:
        """The layout's presets and the one shown (null: the layout's own arrangement)."""
        return run(ListPresets(command="presets"), actor)

    # -- presets -------------------------------------------------------------------------

    @api.post("/api/presets/{name}", tags=["presets"], responses=_NOT_FOUND | _REFUSED)
    def show_preset(name: PresetName, actor: Operator) -> dict[str, Any]:
        """Show preset ``name`` (``default``: the layout's own arrangement). Call-ups and
        solos end; alarms stay."""
        preset = None if name == "default" else name
        return run(ShowPreset(command="preset", name=preset), actor)

    # -- call-ups and solos ----------------------------------------------------------------

    @api.put("/api/outputs/{output}/tiles/{n}", tags=["call-ups"], responses=_NOT_FOUND | _REFUSED)
    def call_up(output: OutputId, n: TilePath, body: CallUpBody, actor: Operator) -> dict[str, Any]:
        """Put a camera on tile ``n`` of ``output`` until DELETE, a preset switch, or ``hold_s``."""
        command = SetCallUp(
            command="callup", output=output, tile=n, camera=body.camera, hold_s=body.hold_s
        )
        return run(command, actor)

    @api.delete(
        "/api/outputs/{output}/tiles/{n}", tags=["call-ups"], responses=_NOT_FOUND | _REFUSED
    )
    def clear_call_up(output: OutputId, n: TilePath, actor: Operator) -> dict[str, Any]:
        """Give the tile back to the layout."""
        return run(ClearCallUp(command="clear_callup", output=output, tile=n), actor)

    @api.post("/api/outputs/{output}/solo", tags=["call-ups"], responses=_NOT_FOUND | _REFUSED)
    def solo(output: OutputId, body: SoloBody, actor: Operator) -> dict[str, Any]:
        """Show one camera on the whole output."""
        command = Solo(command="solo", output=output, camera=body.camera, hold_s=body.hold_s)
        return run(command, actor)

    @api.delete("/api/outputs/{output}/solo", tags=["call-ups"], responses=_NOT_FOUND | _REFUSED)
    def clear_solo(output: OutputId, actor: Operator) -> dict[str, Any]:
        """Bring the output's tiles back."""
        return run(ClearSolo(command="clear_solo", output=output), actor)

    # -- alarms --------------------------------------------------------------------------

    @api.get("/api/alarms", tags=["alarms"])
    def alarms(actor: Viewer) -> dict[str, Any]:
        """Alarms shown (with their tile) and waiting, most urgent first; the alarm tiles."""
        return run(ListAlarms(command="alarms"), actor)

    @api.post("/api/alarms", tags=["alarms"], status_code=201, responses=_NOT_FOUND | _REFUSED)
    def raise_alarm(body: AlarmBody, actor: Operator) -> dict[str, Any]:
        """Bring a camera onto the layout's alarm tiles: priority 1 first, the rest waiting;
        it ends by itself after ``ttl_s`` (but stays on screen at least the layout's
        ``min_hold_s``). The answer has its ``id``."""
        command = RaiseAlarm(
            command="alarm",
            camera=body.camera,
            priority=body.priority,
            ttl_s=body.ttl_s,
            title=body.title,
        )
        return run(command, actor)

    @api.delete("/api/alarms/{alarm_id}", tags=["alarms"], responses=_NOT_FOUND | _REFUSED)
    def clear_alarm(alarm_id: AlarmId, actor: Operator) -> dict[str, Any]:
        """End an alarm now."""
        return run(ClearAlarm(command="clear_alarm", id=alarm_id), actor)

    # -- administration --------------------------------------------------------------------

    @api.post("/api/reload", tags=["admin"])
    def reload(actor: Admin) -> dict[str, Any]:
        """Read the layout file again (as SIGHUP does)."""
        return run(Reload(command="reload"), actor)

    @api.post("/api/revert", tags=["admin"], responses=_REFUSED)
    def revert(actor: Admin) -> dict[str, Any]:
        """Write the previously applied layout back into the layout file; the wall applies it."""
        return run(Revert(command="revert"), actor)

    # -- pictures ------------------------------------------------------------------------

    def jpeg(key: PictureKey, width: int | None, quality: int) -> Response:
        wanted = (key, width, quality)
        cached = context.jpegs.get(wanted, context.clock.now(), context.events.last)
        if cached is not None:
            return Response(cached, media_type="image/jpeg")
        picture = context.pictures.ask(key)
        if width is not None and isinstance(picture, CanvasImage):
            picture = _scaled(picture, width)
        pixels = picture.to_bgr()  # here, in the server's thread: never on the render loop
        if width is not None and width < pixels.shape[1]:
            height = max(1, round(pixels.shape[0] * width / pixels.shape[1]))
            pixels = np.asarray(
                cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA), np.uint8
            )
        ok, data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:  # pragma: no cover: OpenCV encodes any BGR picture
            raise CompositorError("the picture could not be encoded")
        encoded = data.tobytes()
        context.jpegs.put(wanted, encoded, context.clock.now(), context.events.last)
        return Response(encoded, media_type="image/jpeg")

    jpeg_response: dict[int | str, dict[str, Any]] = {
        200: {"content": {"image/jpeg": {}}, "description": "A JPEG picture"}
    }

    @api.get(
        "/api/outputs/{output}/snapshot.jpg",
        tags=["pictures"],
        response_class=Response,
        responses=jpeg_response | _NOT_FOUND,
    )
    def output_snapshot(
        output: OutputId, actor: Viewer, width: Width = None, quality: Quality = JPEG_QUALITY
    ) -> Response:
        """What the output's screen shows now."""
        return jpeg(("output", output), width, quality)

    @api.get(
        "/api/cameras/{camera}/snapshot.jpg",
        tags=["pictures"],
        response_class=Response,
        responses=jpeg_response | _NOT_FOUND | _REFUSED,
    )
    def camera_snapshot(
        camera: CameraPath, actor: Viewer, width: Width = None, quality: Quality = JPEG_QUALITY
    ) -> Response:
        """The camera's latest picture, at the largest size the wall decodes it (a camera on no
        tile has none: 404)."""
        return jpeg(("camera", camera), width, quality)

    # -- events --------------------------------------------------------------------------

    @api.get(
        "/api/events",
        tags=["wall"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "Events"}},
    )
    async def events(
        actor: Viewer, last_event_id: LastEventId = None, since: Since = None
    ) -> StreamingResponse:
        """Server-sent events as things change: ``camera`` (state), ``layout`` (applied or
        refused), ``preset``, ``callup``, ``solo``, ``alarm``; each ``data`` is a JSON
        object. Resume with ``Last-Event-ID`` (or ``?since=N``); a reader that fell too far
        behind gets a ``lost`` event saying how many it missed."""
        if context.streams >= MAX_STREAMS:
            raise BusyError(f"{context.streams} event streams are open already: try again")
        cursor = context.events.last
        for given in (since, last_event_id):
            if isinstance(given, int) or (isinstance(given, str) and given.isdigit()):
                cursor = min(int(given), context.events.last)
        return StreamingResponse(
            _event_stream(context, cursor),
            media_type="text/event-stream",
            headers={"X-Accel-Buffering": "no"},
        )

    # -- the control page ----------------------------------------------------------------

    static = _static_dir()

    @api.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(
            f"{static}/index.html",
            headers={
                # The page's own files only: nothing from elsewhere, no inline script.
                "Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; "
                "style-src 'self'; script-src 'self'; connect-src 'self'; "
                "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            },
        )

    api.mount("/static", StaticFiles(directory=static), name="static")

    for extend in extensions:
        extend(api)
    api.add_middleware(_Guard)
    return api


def _scaled(picture: CanvasImage, width: int) -> CanvasImage:
    """``picture`` ``width`` pixels wide, still as I420 planes: the conversion to BGR, the
    costly part (60 ms for 1280x720 on the 2-core VM, in the wall's process), then runs
    on the few pixels sent (a 480 px preview: a seventh)."""
    height, full = picture.y.shape
    if width >= full:
        return picture
    height = max(2, round(height * width / full))
    chroma_w, chroma_h = chroma_size(width, height)
    area = cv2.INTER_AREA
    fx, fy = width / full, height / picture.y.shape[0]
    overrides = []
    for rect, matrix in picture.overrides:
        x, y = round(rect.x * fx), round(rect.y * fy)
        w = min(width - x, max(1, round(rect.w * fx)))
        h = min(height - y, max(1, round(rect.h * fy)))
        if w > 0 and h > 0:
            overrides.append((TileRect(x, y, w, h), matrix))
    return CanvasImage(
        np.asarray(cv2.resize(picture.y, (width, height), interpolation=area), np.uint8),
        np.asarray(cv2.resize(picture.u, (chroma_w, chroma_h), interpolation=area), np.uint8),
        np.asarray(cv2.resize(picture.v, (chroma_w, chroma_h), interpolation=area), np.uint8),
        picture.base,
        tuple(overrides),
    )


async def _authenticate(
    context: ApiContext, request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Actor:
    """The token's actor; 401 the same way for no token and a wrong one."""
    address = request.client.host if request.client else "unknown"
    wait = context.throttle.admit(address, context.clock.now())
    record = None
    if wait is not None:
        if wait > 0:
            await asyncio.sleep(wait)
        if credentials is not None and credentials.scheme.lower() == "bearer":
            try:
                record = context.tokens.verify(credentials.credentials)
            except CompositorError as exc:  # a broken tokens file: nobody gets in, and says why
                log.error("%s", exc)
    if record is None:
        context.throttle.failed(address, context.clock.now())
        context.journal.change(
            "login.failed",
            f"address {address}",
            None,
            publish=False,
            target=f"{request.method} {request.url.path}",
            result="refused",
            reason="no token" if credentials is None else "not a valid token",
        )
        raise _Unauthorised()
    context.throttle.succeeded(address)
    return Actor(record.name, record.role)


class _Unauthorised(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(
            401,
            "unauthorised: send Authorization: Bearer <token> with a valid token",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def _event_stream(context: ApiContext, cursor: int) -> AsyncIterator[str]:
    context.streams += 1
    try:
        yield "retry: 2000\n\n"
        quiet = 0.0
        while not context.stopping.is_set():
            read = context.events.read_after(cursor)
            if read.lost:
                yield f"event: lost\ndata: {json.dumps({'lost': read.lost})}\n\n"
            for event in read.events:
                data = json.dumps({"at": event.at, **event.data}, ensure_ascii=False, default=str)
                yield f"id: {event.number}\nevent: {event.kind}\ndata: {data}\n\n"
            cursor = read.cursor
            if read.events:
                quiet = 0.0
                continue
            await asyncio.sleep(STREAM_POLL_S)
            quiet += STREAM_POLL_S
            if quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield ": still here\n\n"
    finally:
        context.streams -= 1
