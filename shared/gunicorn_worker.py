"""The gunicorn worker every service runs (`infra/gunicorn.conf.py`): gthread, with three changes.

1. **Slow and half-open clients wait in the event loop, not in a thread.** gthread hands a
   connection to a pool thread as soon as its first bytes arrive, and the thread then blocks until
   the request is complete: ten clients that send half a request hold every thread, and `/healthz`
   stops answering. Here the event loop reads what arrives without blocking and hands the
   connection over only once its headers (and a body of known length up to BODY_BUFFER_BYTES) are
   in; a connection that has not sent them within CLIENT_TIMEOUT_S is closed. A larger or chunked
   body is read by the thread with that same timeout on the socket.
2. **gunicorn's own errors get the problem shape.** A request line past the limit, a malformed
   header and the like are answered by gunicorn before the app sees them, as HTML; here they are
   `{"detail", "errors"}` like every other error.
3. **A second quit signal does not deadlock.** `ThreadWorker.handle_quit` shuts the thread pool
   down; a second SIGINT or SIGQUIT arriving meanwhile (Ctrl-C pressed twice, or sent to a whole
   process group) re-entered it inside `ThreadPoolExecutor.shutdown` and the worker hung for ever,
   holding its port. The first signal is the one acted on.
"""

from __future__ import annotations

import errno
import json
import os
import re
import selectors
import socket
import time
from collections import deque
from contextlib import suppress
from functools import partial
from types import FrameType
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

CLIENT_TIMEOUT_S = float(os.environ.get("GUNICORN_CLIENT_TIMEOUT", "10"))
BODY_BUFFER_BYTES = 1024 * 1024
HEADER_END = b"\r\n\r\n"
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*(\d{1,12})[ \t]*\r\n", re.IGNORECASE)
TRANSFER_ENCODING = re.compile(rb"\r\ntransfer-encoding[ \t]*:", re.IGNORECASE)


class BufferedConn(TConn):  # type: ignore[misc]
    """A connection whose first bytes the event loop has already read."""

    def __init__(self, cfg: Any, sock: socket.socket, client: Any, server: Any) -> None:
        super().__init__(cfg, sock, client, server)
        self.received = bytearray()
        self.deadline = time.monotonic() + CLIENT_TIMEOUT_S

    def init(self) -> None:
        super().init()
        self.sock.settimeout(CLIENT_TIMEOUT_S)  # what the thread still reads (a large body) is bounded too
        if self.received:
            self.parser.unreader.unread(bytes(self.received))
            self.received = bytearray()

    def ready(self) -> bool:
        """Whether the request is in, as far as the event loop waits for it."""
        end = self.received.find(HEADER_END)
        if end < 0:
            return len(self.received) > self.cfg.limit_request_line + self.cfg.limit_request_field_size * 4
        head = bytes(self.received[: end + 2])
        if TRANSFER_ENCODING.search(head):
            return True
        length = CONTENT_LENGTH.search(head)
        if length is None or int(length.group(1)) > BODY_BUFFER_BYTES:
            return True
        return len(self.received) - end - len(HEADER_END) >= int(length.group(1))


class ProblemThreadWorker(ThreadWorker):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._quitting = False
        self._reading: deque[BufferedConn] = deque()

    def init_process(self) -> None:
        # gunicorn writes its own error pages through this module function; this process is ours.
        util.write_error = write_problem
        super().init_process()

    def handle_quit(self, sig: int, frame: FrameType | None) -> None:
        if self._quitting:
            return
        self._quitting = True
        super().handle_quit(sig, frame)

    def accept(self, server: Any, listener: socket.socket) -> None:
        try:
            sock, client = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        conn = BufferedConn(self.cfg, sock, client, server)
        self.nr_conns += 1
        with self._lock:
            self._reading.append(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))

    def on_client_socket_readable(self, conn: BufferedConn, client: socket.socket) -> None:
        if conn.initialized:  # a kept-alive connection's next request: gthread's own path
            super().on_client_socket_readable(conn, client)
            return
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            conn.received += data
            if not conn.ready():
                return
        with self._lock:
            self.poller.unregister(client)
            self._forget(conn)
        if not data:  # the client went away before sending a request
            self.nr_conns -= 1
            conn.close()
            return
        self.enqueue_req(conn)

    def murder_keepalived(self) -> None:
        super().murder_keepalived()
        now = time.monotonic()
        while True:
            with self._lock:
                if not self._reading or self._reading[0].deadline > now:
                    return
                conn = self._reading.popleft()
                with suppress(KeyError, ValueError, OSError):  # already gone from the poller
                    self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            conn.close()

    def _forget(self, conn: BufferedConn) -> None:
        with suppress(ValueError):  # reaped by the timeout meanwhile
            self._reading.remove(conn)


def write_problem(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's error response, in the problem shape every service answers with."""
    body = json.dumps({"detail": reason, "errors": [{"field": "request", "message": mesg}] if mesg else []}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    util.write_nonblock(sock, head + body)
