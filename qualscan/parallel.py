"""Fork-join for independent pieces of the main process's work (issue #8, the one-file gate).

A warm gate is CPU-bound in one process while the machine's other core idles. :func:`spawn` runs a
pure function in a forked child that inherits the parent's memory (nothing is pickled on the way
in), while the parent goes on with other work; :meth:`Job.result` collects the child's pickled
return value. Worth it only when the result is small or cheap to unpickle next to the cost of
computing it (a list of records, a rendered string), never for large object graphs.

The answer travels through an anonymous shared memory mapping (a pipe moves a few MB at ~150 MB/s
with all its wake-ups; the mapping costs one copy), or through the pipe when it is larger than the
mapping.

Nothing is lost when the child cannot help: without ``os.fork`` (Windows), on macOS (system
frameworks are not fork-safe), when forking fails, when the child raises, dies or hangs (after
``TIMEOUT``), or when its answer cannot be read, :meth:`Job.result` computes the function in the
parent. The child never writes to the parent's files: it answers through its own pipe and mapping
and leaves with ``os._exit`` (no ``atexit`` handlers, no flushing of inherited stdio buffers).

``QUALSCAN_NO_FORK=1`` turns it off (every job runs in the parent, when its result is asked for).
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import pickle
import select
import signal
import struct
import sys
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# A child that has not answered by then is stuck (it should never be: it only computes); the parent
# kills it and computes the value itself.
TIMEOUT = 600.0
SHARED_SIZE = 256 << 20  # address space only: pages cost memory when the child writes them
_HEADER = struct.Struct("<cQ")  # kind, length
_SHARED, _PIPE, _ERROR = b"m", b"p", b"e"


def fork_available() -> bool:
    return hasattr(os, "fork") and hasattr(select, "poll") and sys.platform.startswith("linux") and os.environ.get("QUALSCAN_NO_FORK", "") in ("", "0")


class Job(Generic[T]):
    """``fn(*args)``, computed in a forked child when possible; :meth:`result` returns it (once)."""

    def __init__(self, fn: Callable[..., T], *args: Any) -> None:
        self._fn = fn
        self._args = args
        self._pid = 0
        self._fd = -1
        self._shared: mmap.mmap | None = None
        self.forked = False  # whether the value came from the child (tests)
        if fork_available():
            self._start()

    def _start(self) -> None:
        try:
            shared = mmap.mmap(-1, SHARED_SIZE)
        except (OSError, ValueError):
            shared = None
        try:
            read_fd, write_fd = os.pipe()
        except OSError:
            if shared is not None:
                shared.close()
            return
        try:
            pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            if shared is not None:
                shared.close()
            return
        if pid == 0:
            self._child(read_fd, write_fd, shared)  # never returns
        os.close(write_fd)
        self._pid, self._fd, self._shared = pid, read_fd, shared

    def _child(self, read_fd: int, write_fd: int, shared: mmap.mmap | None) -> None:
        """Compute, answer, leave without running anything of the parent's (no atexit, no flush)."""
        code = 0
        try:
            gc.disable()  # short-lived: a collection would only copy the parent's pages
            os.close(read_fd)
            try:
                payload = pickle.dumps(self._fn(*self._args), protocol=pickle.HIGHEST_PROTOCOL)
                if shared is not None and len(payload) <= len(shared):
                    shared[: len(payload)] = payload
                    message = _HEADER.pack(_SHARED, len(payload))
                else:
                    message = _HEADER.pack(_PIPE, len(payload)) + payload
            except BaseException:  # noqa: BLE001 - the parent recomputes and sees the error itself
                message = _HEADER.pack(_ERROR, 0)
            view = memoryview(message)
            while view:
                view = view[os.write(write_fd, view) :]
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)

    def result(self) -> T:
        if self._pid:
            answer = self._collect()
            if answer is not None:
                self.forked = True
                return answer[0]
        return self._fn(*self._args)

    def _collect(self) -> tuple[T] | None:
        chunks: list[bytes] = []
        complete = False
        deadline = time.monotonic() + TIMEOUT
        try:
            poller = select.poll()  # not select(): descriptors past FD_SETSIZE (1024) are refused
            poller.register(self._fd, select.POLLIN)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not poller.poll(left * 1000):
                    break  # stuck: given up below
                chunk = os.read(self._fd, 1 << 20)
                if not chunk:
                    complete = True
                    break
                chunks.append(chunk)
        except (OSError, ValueError):
            pass
        message = b"".join(chunks) if complete else b""
        status = self._reap(kill=not complete, unmap=False)
        try:
            if status != 0 or len(message) < _HEADER.size:
                return None
            kind, length = _HEADER.unpack_from(message)
            if kind == _SHARED and self._shared is not None and length <= len(self._shared):
                with memoryview(self._shared) as view:  # unpickled in place: no copy
                    return (pickle.loads(view[:length]),)
            if kind == _PIPE and len(message) == _HEADER.size + length:
                return (pickle.loads(memoryview(message)[_HEADER.size :]),)
            return None
        except Exception:  # noqa: BLE001 - unreadable answer: the parent computes it
            return None
        finally:
            self._unmap()

    def _unmap(self) -> None:
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    def _reap(self, *, kill: bool, unmap: bool = True) -> int:
        if self._fd >= 0:
            os.close(self._fd)  # a child still writing gets EPIPE and leaves
            self._fd = -1
        status = -1
        if self._pid:
            if kill:
                with contextlib.suppress(OSError):
                    os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                status = os.waitpid(self._pid, 0)[1]
            self._pid = 0
        if unmap:
            self._unmap()
        return status

    def cancel(self) -> None:
        """Stop the child without using its answer (an error path that never asks for the result)."""
        self._reap(kill=True)

    def __del__(self) -> None:
        if getattr(self, "_pid", 0):
            self.cancel()


def spawn(fn: Callable[..., T], *args: Any) -> Job[T]:
    """Start ``fn(*args)`` beside the caller; ``.result()`` joins. ``fn`` must be free of side
    effects the parent relies on (it may run in a child, or later in the parent)."""
    return Job(fn, *args)
