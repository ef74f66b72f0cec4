"""What keeps `edumix serve` from being a remote shell: the token, bounded bodies, confined paths.

- Loopback by default; any other bind address needs a token (checked by the CLI before start).
- With a token every request needs `Authorization: Bearer <token>` or the `token` cookie that
  /login?token=... sets; compared in constant time, never logged (uvicorn's access log is off,
  ours logs paths without query strings).
- Request bodies over MAX_BODY bytes are refused with 413 before any handler runs.
- Input paths must resolve (symbolic links followed) inside one of the --root directories.
"""

from __future__ import annotations

import glob
import hmac
import json
import os
from pathlib import Path

MAX_BODY = 1_000_000
COOKIE = "token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class PathRefused(ValueError):
    """An input path outside the roots (HTTP 403)."""


class PathInvalid(ValueError):
    """An input path that is not usable (HTTP 422)."""


def read_token(token_file: str | os.PathLike) -> str:
    path = Path(token_file)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ValueError(f"cannot read --token-file {path}: {e.strerror or e}") from e
    if len(token) < 16:
        raise ValueError(f"--token-file {path} must hold a token of at least 16 characters")
    return token


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def request_token(headers: dict[str, str], cookies: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return cookies.get(COOKIE)


def _within(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def confine_inputs(inputs: list[str], roots: list[Path]) -> list[str]:
    """Absolute paths (or globs) under the roots, resolved: symbolic links are followed before
    the check, so a link pointing out of a root is refused like the path it points to. Returns
    the resolved files, each checked again after glob expansion."""
    out = []
    for raw in inputs:
        shown = json.dumps(raw)
        if not raw or "\0" in raw:
            raise PathInvalid(f"input {shown} is empty or holds a NUL byte")
        if ".." in Path(raw).parts:
            raise PathRefused(f"input {shown} contains '..': give a path inside the allowed roots")
        if not os.path.isabs(raw):
            raise PathInvalid(f"input {shown} is not an absolute path")
        if not roots:
            raise PathRefused(
                f"input {shown} refused: the server was started without --root, so no local path is allowed"
            )
        if glob.has_magic(raw):
            base = Path(raw.split("*")[0].split("?")[0].split("[")[0]).parent
            if not _within(base.resolve(), roots):
                raise PathRefused(f"input {shown} is outside the allowed roots ({', '.join(map(str, roots))})")
            matches = sorted(glob.glob(raw))
            if not matches:
                raise PathInvalid(f"input {shown} matches no file")
        else:
            matches = [raw]
        for match in matches:
            resolved = Path(match).resolve()
            if not _within(resolved, roots):
                allowed = ", ".join(map(str, roots))
                raise PathRefused(f"input {json.dumps(match)} resolves to a path outside the allowed roots ({allowed})")
            if not resolved.is_file():
                raise PathInvalid(f"input {json.dumps(match)} is not a file")
            out.append(str(resolved))
    return out
