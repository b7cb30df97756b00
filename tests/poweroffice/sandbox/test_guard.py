"""The sandbox's hooks and page are not for the world: a hook token (unless --demo-open, and
then only on a loopback address), same origin only, JSON only, its own host names only; it never
learns the installation's real keys; and every answer says SANDBOX."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from poweroffice.sandbox.server import start_sandbox

ROOT = Path(__file__).resolve().parents[3]
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def guarded():
    handle = start_sandbox(port=0, rate_limit=0)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def open_demo():
    handle = start_sandbox(port=0, rate_limit=0, demo_open=True)
    yield handle
    handle.stop()


def _hook(handle, method, path, *, headers=None, **kwargs):
    return requests.request(
        method, f"{handle.url}/_sandbox/{path}", headers=headers or {}, timeout=10, **kwargs
    )


def _token(handle) -> dict[str, str]:
    return {"X-Sandbox-Token": handle.hook_token}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "clients", None),
        ("GET", "requests", None),
        ("POST", "clients", {"name": "Angriper AS"}),
        ("POST", "reset", {}),
        ("GET", "config", None),
    ],
)
def test_hooks_need_the_token(guarded, method, path, body):
    data = None if body is None else json.dumps(body)
    response = _hook(guarded, method, path, headers=JSON, data=data)
    assert response.status_code == 401
    assert "X-Sandbox-Token" in response.json()["detail"]
    wrong = _hook(guarded, method, path, headers={**JSON, "X-Sandbox-Token": "gjett"}, data=data)
    assert wrong.status_code == 401
    right = _hook(guarded, method, path, headers={**JSON, **_token(guarded)}, data=data)
    assert right.status_code < 300, right.text


@pytest.mark.parametrize("handle_name", ["guarded", "open_demo"])
def test_cross_origin_and_non_json_are_refused(request, handle_name):
    handle = request.getfixturevalue(handle_name)
    token = {} if handle.hook_token is None else _token(handle)
    body = json.dumps({"name": "Angriper AS"})
    # What a web page can send without asking: text/plain, a form, or from another origin.
    for headers in (
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {},
    ):
        response = _hook(handle, "POST", "clients", headers={**headers, **token}, data=body)
        assert response.status_code == 415, headers
    for headers in (
        {"Origin": "https://angriper.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        response = _hook(handle, "POST", "clients", headers={**JSON, **headers, **token}, data=body)
        assert response.status_code == 403, headers
        response = _hook(handle, "GET", "clients", headers={**headers, **token})
        assert response.status_code == 403, headers
    preflight = _hook(
        handle,
        "OPTIONS",
        "clients",
        headers={"Origin": "https://angriper.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers
    clients = _hook(handle, "GET", "clients", headers=token).json()
    assert "Angriper AS" not in [c["name"] for c in clients]
    # The sandbox's own page (same origin) may still use them.
    own = _hook(
        handle,
        "POST",
        "clients",
        headers={**JSON, **token, "Origin": handle.url, "Sec-Fetch-Site": "same-origin"},
        data=json.dumps({"name": "Egen side AS"}),
    )
    assert own.status_code == 201, own.text


def test_only_its_own_host_names(guarded):
    # A web page's own name pointed at 127.0.0.1 (DNS rebinding) gets nothing.
    for path in ("/", "/_sandbox/clients"):
        response = requests.get(
            guarded.url + path,
            headers={"Host": "angriper.example", **_token(guarded)},
            params={"token": guarded.hook_token},
            timeout=10,
        )
        assert response.status_code == 421


def test_the_page_needs_the_token_and_says_sandbox(guarded, open_demo):
    assert requests.get(guarded.url + "/", timeout=10).status_code == 401
    for page in (
        requests.get(guarded.url + "/", params={"token": guarded.hook_token}, timeout=10),
        requests.get(open_demo.url + "/", timeout=10),
    ):
        assert page.status_code == 200
        assert "<title>SANDBOX" in page.text
        assert '<span class="sandbox-flag">SANDBOX</span>' in page.text


def test_every_answer_says_sandbox(guarded):
    answers = [
        requests.get(guarded.url + "/", timeout=10),
        requests.get(guarded.url + "/v2/Customers", timeout=10),  # 401, no body
        requests.post(guarded.url + "/OAuth/Token", data={"grant_type": "x"}, timeout=10),
        requests.get(guarded.url + "/nowhere", timeout=10),
        _hook(guarded, "GET", "health", headers=_token(guarded)),
    ]
    for answer in answers:
        assert answer.headers["X-Sandbox"].startswith("SANDBOX"), answer.url


def test_new_clients_never_get_the_installations_keys(monkeypatch):
    monkeypatch.setenv("POWEROFFICE_APPLICATION_KEY", "the-real-application-key")
    monkeypatch.setenv("POWEROFFICE_SUBSCRIPTION_KEY", "the-real-subscription-key")
    handle = start_sandbox(port=0, rate_limit=0, demo_open=True)
    try:
        created = _hook(handle, "POST", "clients", headers=JSON, json={"name": "Demo AS"})
        listing = _hook(handle, "GET", "clients")
    finally:
        handle.stop()
    for text in (created.text, listing.text):
        assert "the-real-application-key" not in text
        assert "the-real-subscription-key" not in text
    assert created.json()["application_key"] == "bitnet-dev-application-key"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "poweroffice.sandbox", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_demo_open_only_on_a_loopback_address():
    result = _cli("--host", "0.0.0.0", "--port", "0", "--demo-open")
    assert result.returncode != 0
    assert "--demo-open" in result.stderr and "loopback" in result.stderr
