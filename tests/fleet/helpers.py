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

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_timeout=1)
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
        return redis.Redis(port=self.port, decode_responses=True)


@contextlib.contextmanager
def publish_hello(ws_url: str, call_id: str, agent: str = "a1") -> Iterator[ClientConnection]:
    """A `/publish` connection for a call, its `publishing` reply read."""
    with connect(ws_url + "/publish", open_timeout=10) as ws:
        hello = {"type": "publish", "call_id": call_id, "agent_id": agent, "team": "t1"}
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
