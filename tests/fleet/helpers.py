"""What the fleet's tests share: a throwaway `redis-server`, a publisher, a node process."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from websockets.sync.client import ClientConnection, connect

from edge.events import Event, to_json
from tests.helpers import TIME_FACTOR, EdgeProcess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throwaway `redis-server`: no persistence, its own folder, stoppable and restartable."""

    def __init__(self, folder: Path, *, tls: tuple[Path, Path] | None = None) -> None:
        self.folder = folder
        self.port = free_port()
        self.tls = tls  # (certificate, key): TLS only, the certificate its own CA
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        listen = ["--port", str(self.port)]
        if self.tls is not None:
            cert, key = map(str, self.tls)
            listen = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", cert,
                      "--tls-key-file", key, "--tls-ca-cert-file", cert,
                      "--tls-auth-clients", "no"]  # fmt: skip
        self.process = subprocess.Popen(
            ["redis-server", *listen, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = self.client()
        deadline = time.monotonic() + 10 * TIME_FACTOR
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(10)
        self.process = None

    def client(self) -> redis.Redis:
        tls = {"ssl": True, "ssl_ca_certs": str(self.tls[0])} if self.tls else {}
        return redis.Redis(
            host="127.0.0.1", port=self.port, decode_responses=True, socket_timeout=1, **tls
        )


@contextlib.contextmanager
def publish_hello(
    ws_url: str, call_id: str, agent: str = "a1", token: str | None = None
) -> Iterator[ClientConnection]:
    """A `/publish` connection for a call (of team t1), its `publishing` reply read."""
    with connect(ws_url + "/publish", open_timeout=10) as ws:
        hello = {"type": "publish", "call_id": call_id, "agent_id": agent, "team": "t1"}
        if token is not None:
            hello["token"] = token
        ws.send(json.dumps(hello))
        reply = json.loads(ws.recv(timeout=10))
        assert reply["type"] == "publishing", reply
        yield ws


def send(ws: ClientConnection, events: list[Event]) -> None:
    for event in events:
        ws.send(to_json(event))


def serve_process(config: Path) -> tuple[EdgeProcess, str]:
    """`edge serve --config FILE` as a process on a free port: it and its websocket URL."""
    process = EdgeProcess("serve", "--port", "0", "--config", str(config), clean_env=True)
    listening = process.wait_for("edge serve: listening on ", 60 * TIME_FACTOR)
    return process, listening.split("listening on ", 1)[1].split()[0].replace("http", "ws", 1)
