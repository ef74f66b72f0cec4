"""The `edumix serve` application: FastAPI served by uvicorn, in one process with its jobs.

Why FastAPI + uvicorn: the OpenAPI spec (/openapi.json) comes for free from the routes, and
request bodies are typed pydantic models, the same library edumix already validates its run
config with; uvicorn is its standard small ASGI server. The interactive /docs pages are off:
they load their JavaScript from a CDN, and nothing here fetches anything at run time.
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from edumix import __version__
from edumix.service import api, pages, trainings
from edumix.service.jobs import JobManager
from edumix.service.security import COOKIE, LOOPBACK_HOSTS, MAX_BODY, request_token, token_matches
from edumix.service.storage import open_store

log = logging.getLogger("edumix.service")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Not "no-referrer": under it a browser sends `Origin: null` with the pages' own form posts,
    # which the cross-site check below cannot tell from a hostile page's. Other sites still get nothing.
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'",
}


class BodyLimit:
    """Refuse request bodies over `limit` bytes (413) before any handler sees them, whether
    the client announces a Content-Length or streams chunks."""

    def __init__(self, app, limit: int = MAX_BODY):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._too_large(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await self._too_large(scope, receive, send)
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _too_large(self, scope, receive, send):
        response = JSONResponse({"detail": f"request body larger than {self.limit:,} bytes"}, status_code=413)
        await response(scope, receive, send)


def create_app(
    home: Path,
    roots: list[Path],
    token: str | None = None,
    max_jobs: int = 1,
    db: str | None = None,
    max_trainings: int = 1,
) -> FastAPI:
    """`db`: a postgresql:// URL for the job table; default HOME/jobs.sqlite. Job files stay in HOME.
    `max_jobs` curate runs and `max_trainings` trainings run at once, each kind in its own queue."""
    home.mkdir(parents=True, exist_ok=True)
    store = open_store(home, db)
    manager = JobManager(store, home, max_jobs=max_jobs, max_trainings=max_trainings)
    roots = [r.resolve() for r in roots]

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        interrupted = manager.recover()
        if interrupted:
            log.warning("marked %d job(s) interrupted: %s", len(interrupted), ", ".join(interrupted))
        yield
        manager.shutdown()
        trainings.shutdown_generation()
        store.close()

    app = FastAPI(
        title="edumix serve",
        version=__version__,
        description="Queue, run and inspect edumix curate runs on this machine.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = api.Service(store=store, manager=manager, roots=roots, token=token)
    app.include_router(api.router)
    app.include_router(pages.router, include_in_schema=False)  # the spec is the JSON API; pages are HTML

    @app.exception_handler(api.RunRefused)
    async def refused(request: Request, exc: api.RunRefused) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, "errors": exc.errors}, status_code=exc.status)

    @app.get("/login", include_in_schema=False)
    def login(request: Request, token: str = "") -> Response:
        """Sets the token cookie for a browser (the URL's query is never logged)."""
        expected = app.state.service.token
        if expected is None:
            return RedirectResponse("/", status_code=303)
        if not token_matches(expected, token):
            return PlainTextResponse("wrong token", status_code=401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    @app.middleware("http")
    async def guard(request: Request, call_next) -> Response:
        started = time.monotonic()
        response = _refusal(request, token)
        if response is None:
            response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        # Path only: a query string may hold the token (/login?token=...).
        log.info(
            "%s %s %d %.0fms",
            request.method,
            request.url.path,
            response.status_code,
            1e3 * (time.monotonic() - started),
        )
        return response

    app.add_middleware(BodyLimit)
    return app


def _refusal(request: Request, token: str | None) -> Response | None:
    """401 without the token; 403 for a cross-site form post or (tokenless) a foreign Host
    header, which is what a DNS-rebinding page would send to a loopback server."""
    host = request.headers.get("host", "")
    if request.method not in ("GET", "HEAD", "OPTIONS") and _cross_site(request.headers, host):
        return PlainTextResponse("cross-site request refused", status_code=403)
    if token is None:
        if urlsplit(f"//{host}").hostname not in LOOPBACK_HOSTS:
            return PlainTextResponse("this server answers only to a loopback Host header", status_code=403)
        return None
    if request.url.path == "/login" or token_matches(token, request_token(dict(request.headers), request.cookies)):
        return None
    return JSONResponse(
        {"detail": "missing or wrong token: send 'Authorization: Bearer <token>' (or open /login?token=...)"},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def _cross_site(headers, host: str) -> bool:
    """A state-changing request a browser sent from another site. Browsers send `Sec-Fetch-Site`
    (a page cannot forge it) and `Origin`; an `Origin: null` (a sandboxed or no-referrer page)
    passes only when Sec-Fetch-Site says same-origin. Clients that send neither (curl, httpx)
    are not browsers and pass."""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    if origin == "null":
        return site != "same-origin"
    return urlsplit(origin).netloc != host


def serve(
    host: str,
    port: int,
    home: Path,
    roots: list[Path],
    token: str | None,
    max_jobs: int,
    log_level: str = "info",
    db: str | None = None,
    max_trainings: int = 1,
) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(home, roots, token, max_jobs, db, max_trainings)
    log.info(
        "edumix serve on http://%s:%d (home %s, roots: %s)", host, port, home, ", ".join(map(str, roots)) or "none"
    )
    uvicorn.run(app, host=host, port=port, access_log=False, log_level=log_level, server_header=False)
