"""WeasyPrint in child processes, so that several specification PDFs are made at once.

WeasyPrint is CPU work in Python: threads take turns on one core, child processes do not. The
children are plain subprocesses (``python -m accounting.pdfworkers``) rather than
:mod:`multiprocessing`, which a Celery prefork worker (a daemon process) may not use. Each child
imports WeasyPrint once and renders a small page to load its fonts (the first PDF of a fresh
process costs half a second more than the next), then turns HTML into PDF for as long as its
parent lives: it stops when its stdin closes, so a parent that dies leaves no child behind.

The protocol is frames of a 4-byte big-endian length and a payload: the parent sends the HTML
(UTF-8); the child answers a status frame (``ok`` or ``error``) and a frame with the PDF or the
error text. The child needs neither Django nor the database: the parent renders the HTML.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
_LENGTH = struct.Struct(">I")
_WARM_UP = "<html><body><p>Bitnet æøå 1 234,56</p><table><tr><td>x</td></tr></table></body></html>"


class RendererGone(Exception):
    """A child process stopped (or could not start); the PDF is made in this process instead."""


def _write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_LENGTH.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> bytes | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(head)
    payload = stream.read(length)
    return payload if len(payload) == length else None


# --- the parent's side ---------------------------------------------------------------------------


class _Child:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "accounting.pdfworkers"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def render(self, html: str) -> bytes:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            _write_frame(stdin, html.encode("utf-8"))
            status = _read_frame(stdout)
            payload = _read_frame(stdout)
        except OSError as exc:
            raise RendererGone(str(exc)) from exc
        if status is None or payload is None:
            raise RendererGone(f"renderer exited with {self.process.poll()}")
        if status != b"ok":
            raise RuntimeError(f"WeasyPrint failed: {payload.decode('utf-8', 'replace')}")
        return payload

    def close(self) -> None:
        if self.process.stdin:
            with contextlib.suppress(OSError):  # a child that died leaves a broken pipe
                self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stdout:
            self.process.stdout.close()


class PdfWorkers:
    """Up to ``size`` renderer processes, started when first needed and kept for the life of
    this process (their fonts stay warm). :meth:`render` is called from several threads; each
    call has a child to itself."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: queue.LifoQueue[_Child] = queue.LifoQueue()
        self._children: list[_Child] = []
        self._lock = threading.Lock()

    def _checkout(self) -> _Child:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._children) < self.size:
                try:
                    child = _Child()
                except OSError as exc:
                    raise RendererGone(str(exc)) from exc
                self._children.append(child)
                return child
        return self._idle.get()

    def render(self, html: str) -> bytes:
        """The PDF of ``html``. Raises RendererGone when the child died (it is replaced next
        time) and RuntimeError when WeasyPrint itself failed."""
        child = self._checkout()
        try:
            pdf = child.render(html)
        except RendererGone:
            with self._lock:
                self._children.remove(child)
            child.close()
            raise
        except BaseException:
            self._idle.put(child)
            raise
        self._idle.put(child)
        return pdf

    def close(self) -> None:
        with self._lock:
            children, self._children = self._children, []
        for child in children:
            child.close()


_workers: PdfWorkers | None = None
_workers_pid = 0
_workers_lock = threading.Lock()


def pdf_workers(size: int) -> PdfWorkers:
    """This process's renderer processes (a forked process makes its own)."""
    global _workers, _workers_pid
    with _workers_lock:
        if _workers is not None and _workers_pid == os.getpid() and _workers.size != size:
            _workers.close()
            _workers = None
        if _workers is None or _workers_pid != os.getpid():
            _workers = PdfWorkers(size)
            _workers_pid = os.getpid()
        return _workers


# --- the child's side ----------------------------------------------------------------------------


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    from weasyprint import HTML

    HTML(string=_WARM_UP).write_pdf()
    while True:
        frame = _read_frame(stdin)
        if frame is None:
            return
        try:
            pdf = HTML(string=frame.decode("utf-8")).write_pdf()
        except Exception as exc:  # told to the parent, which records it with the export
            _write_frame(stdout, b"error")
            _write_frame(stdout, f"{type(exc).__name__}: {exc}".encode())
            continue
        _write_frame(stdout, b"ok")
        _write_frame(stdout, pdf or b"")


def main() -> None:
    # The frames go out on a copy of stdout; anything a library prints goes to stderr instead.
    frames = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _serve(sys.stdin.buffer, frames)


if __name__ == "__main__":
    main()
