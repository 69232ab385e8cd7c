"""A stand-in for the Hugging Face Hub's HTTP API: the endpoints ``python -m demo.deploy``
reaches through ``huggingface_hub``, on loopback, recording every request it is sent.

It keeps Spaces in memory (SDK, visibility, files, secrets, variables, storage) and answers
as the Hub does where the deploy command depends on it: 401 for a token it does not know,
403 for an owner the token may not write to, 409 for a Space that exists, ``uploadMode`` per
file from the preupload endpoint, a commit refused when it carries a binary file outside
large-file storage.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "hf_stand_in_write_token"
INITIAL_FILES = {".gitattributes": b"*.png filter=lfs diff=lfs merge=lfs -text\n"}


@dataclass
class Space:
    sdk: str
    private: bool = False
    files: dict[str, bytes] = field(default_factory=lambda: dict(INITIAL_FILES))
    secrets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    storage: str | None = None


@dataclass(frozen=True)
class Seen:
    """One request the stand-in received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


def git_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def is_binary(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return b"\0" in content


class StandInHub:
    """The Hub's state and the requests it saw. ``writable`` owners accept the token."""

    def __init__(self, writable: tuple[str, ...] = ("owner",)) -> None:
        self.spaces: dict[str, Space] = {}
        self.seen: list[Seen] = []
        self.writable = writable
        self.url = ""
        self.app = Starlette(routes=self._routes())

    def _routes(self) -> list[Route]:
        space = "/api/spaces/{owner}/{name}"
        return [
            Route("/api/repos/create", self.create, methods=["POST"]),
            Route("/api/validate-yaml", self.validate_yaml, methods=["POST"]),
            Route(space, self.info, methods=["GET"]),
            Route(space + "/revision/{revision}", self.info, methods=["GET"]),
            Route(space + "/settings", self.settings, methods=["PUT"]),
            Route(space + "/secrets", self.secret, methods=["POST"]),
            Route(space + "/variables", self.variable, methods=["GET", "POST"]),
            Route(space + "/runtime", self.runtime, methods=["GET"]),
            Route(space + "/preupload/{revision}", self.preupload, methods=["POST"]),
            Route(space + "/tree/{revision}", self.tree, methods=["GET"]),
            Route(space + "/commit/{revision}", self.commit, methods=["POST"]),
        ]

    # -- the requests ---------------------------------------------------------------------------

    async def _seen(self, request: Request) -> bytes:
        body = await request.body()
        self.seen.append(
            Seen(request.method, request.url.path, request.url.query, dict(request.headers), body)
        )
        return body

    def _refusal(self, request: Request, owner: str | None = None) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _error(401, "Invalid credentials in Authorization header")
        if owner is not None and owner not in self.writable:
            return _error(403, "You don't have the rights to create a space under this namespace")
        return None

    def _space(self, request: Request) -> tuple[str, Space | None]:
        repo_id = f"{request.path_params['owner']}/{request.path_params['name']}"
        return repo_id, self.spaces.get(repo_id)

    async def create(self, request: Request) -> Response:
        payload = json.loads(await self._seen(request))
        repo_id = f"{payload['organization']}/{payload['name']}"
        refused = self._refusal(request, payload["organization"])
        if refused is not None:
            return refused
        if repo_id in self.spaces:
            body = {"error": "You already created this space repo", "url": self._url(repo_id)}
            return JSONResponse(body, status_code=409, headers={"X-Error-Message": body["error"]})
        private = payload.get("visibility") == "private"
        self.spaces[repo_id] = Space(sdk=payload["sdk"], private=private)
        return JSONResponse({"url": self._url(repo_id), "name": repo_id})

    def _url(self, repo_id: str) -> str:
        return f"{self.url}/spaces/{repo_id}"

    async def validate_yaml(self, request: Request) -> Response:
        await self._seen(request)
        return JSONResponse({"errors": [], "warnings": []})

    async def info(self, request: Request) -> Response:
        await self._seen(request)
        repo_id, space = self._space(request)
        refused = self._refusal(request)
        if refused is not None or space is None:
            return refused or _error(404, "Repository not found")
        return JSONResponse(
            {"id": repo_id, "sdk": space.sdk, "private": space.private, "sha": "1" * 40}
        )

    async def settings(self, request: Request) -> Response:
        payload = json.loads(await self._seen(request))
        repo_id, space = self._space(request)
        refused = self._refusal(request, repo_id.split("/")[0])
        if refused is not None or space is None:
            return refused or _error(404, "Repository not found")
        space.private = payload.get("private", payload.get("visibility") == "private")
        return JSONResponse({})

    async def secret(self, request: Request) -> Response:
        payload = json.loads(await self._seen(request))
        repo_id, space = self._space(request)
        refused = self._refusal(request, repo_id.split("/")[0])
        if refused is not None or space is None:
            return refused or _error(404, "Repository not found")
        space.secrets[payload["key"]] = payload["value"]
        return JSONResponse({})

    async def variable(self, request: Request) -> Response:
        body = await self._seen(request)
        repo_id, space = self._space(request)
        refused = self._refusal(request, repo_id.split("/")[0])
        if refused is not None or space is None:
            return refused or _error(404, "Repository not found")
        if request.method == "POST":
            payload = json.loads(body)
            space.variables[payload["key"]] = payload["value"]
        return JSONResponse({k: {"value": v} for k, v in space.variables.items()})

    async def runtime(self, request: Request) -> Response:
        await self._seen(request)
        _, space = self._space(request)
        if space is None:
            return _error(404, "Repository not found")
        hardware = {"current": None, "requested": "cpu-basic"}
        return JSONResponse({"stage": "BUILDING", "hardware": hardware, "storage": space.storage})

    async def preupload(self, request: Request) -> Response:
        payload = json.loads(await self._seen(request))
        repo_id, space = self._space(request)
        refused = self._refusal(request, repo_id.split("/")[0])
        if refused is not None or space is None:
            return refused or _error(404, "Repository not found")
        files = []
        for item in payload["files"]:
            sample = base64.b64decode(item["sample"])
            stored = space.files.get(item["path"])
            files.append(
                {
                    "path": item["path"],
                    "uploadMode": "lfs" if is_binary(sample) else "regular",
                    "shouldIgnore": False,
                    "oid": None if stored is None else git_oid(stored),
                }
            )
        return JSONResponse({"files": files})

    async def tree(self, request: Request) -> Response:
        await self._seen(request)
        _, space = self._space(request)
        if space is None:
            return _error(404, "Repository not found")
        return JSONResponse(
            [
                {"type": "file", "path": path, "size": len(content), "oid": git_oid(content)}
                for path, content in sorted(space.files.items())
            ]
        )

    async def commit(self, request: Request) -> Response:
        body = await self._seen(request)
        repo_id, space = self._space(request)
        refused = self._refusal(request, repo_id.split("/")[0])
        if refused is not None or space is None:
            return refused or _error(404, "Repository not found")
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        added = {
            line["value"]["path"]: base64.b64decode(line["value"]["content"])
            for line in lines
            if line["key"] == "file"
        }
        if any(is_binary(content) for content in added.values()):
            return _error(400, "Your push was rejected because it contains binary files")
        for line in lines:
            if line["key"] == "deletedFile":
                space.files.pop(line["value"]["path"], None)
        space.files.update(added)
        return JSONResponse({"commitUrl": f"{self.url}/spaces/{repo_id}/commit/{'2' * 40}",
                             "commitOid": "2" * 40})  # fmt: skip

    # -- what the tests read --------------------------------------------------------------------

    def requests_to(self, path_end: str, method: str = "POST") -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path.endswith(path_end)]


def _error(status: int, message: str) -> Response:
    return JSONResponse(
        {"error": message}, status_code=status, headers={"X-Error-Message": message}
    )


@contextmanager
def running(hub: StandInHub) -> Iterator[StandInHub]:
    """Serve ``hub`` on a free loopback port in a thread, for the duration of the block."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections queue from now on, before uvicorn's thread accepts them
    hub.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(hub.app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def parsed_json_bodies(seen: list[Seen]) -> list[Any]:
    return [json.loads(s.body) for s in seen if s.body]
