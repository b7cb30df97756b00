"""WeasyPrint renders the specification from our HTML only: it fetches data: URLs and our own
static files, nothing on the network or this machine's services, and no other local file."""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.conf import settings

from accounting.pdf import pdf_from_html, url_allowed

PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
    "z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def local_server():
    """An HTTP server on 127.0.0.1 that records every request it gets."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_no_request_leaves_the_renderer(local_server):
    url, seen = local_server
    html = (
        f'<link rel="stylesheet" href="{url}/style.css">'
        f'<p>Dødsbo etter Ola Nordmann</p><img src="{url}/pixel.png">'
        f'<div style="background: url({url}/bg.png)">x</div>'
    )
    pdf = pdf_from_html(html)
    assert pdf.startswith(b"%PDF-")
    assert seen == []


def test_only_data_urls_and_our_static_files():
    static = Path(settings.STATICFILES_DIRS[0]).resolve()
    assert url_allowed(PIXEL)
    assert url_allowed((static / "css" / "app.css").as_uri())
    assert not url_allowed((static / ".." / "bitnet" / "settings.py").resolve().as_uri())
    assert not url_allowed("file:///etc/passwd")
    assert not url_allowed("http://127.0.0.1:8765/_sandbox/requests")
    assert not url_allowed("https://example.org/logo.png")
    assert not url_allowed("ftp://example.org/x")


def test_a_data_url_still_renders():
    assert pdf_from_html(f'<img src="{PIXEL}">').startswith(b"%PDF-")
