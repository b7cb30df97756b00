"""The rate limiters (local and Redis) and the settings the client reads."""

from __future__ import annotations

from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.ratelimit import Lane

# --- rate limiter --------------------------------------------------------------------------------


def test_every_request_token_included_goes_through_the_limiter(po, fast_sandbox):
    po.list_departments()
    po.list_vat_codes()
    fast_sandbox.faults(action="close", count=1, path="^/Departments$")
    po.list_departments()
    # Every slot let go is reported sent, also of the request whose connection was closed.
    assert po.rate_limiter.acquired == po.rate_limiter.sent_count == po.stats.requests == 5
    assert po.rate_limiter.lanes == [Lane.INTERACTIVE] * 5  # the default lane
    assert len(fast_sandbox.requests_log()) == 5


def test_a_request_is_reported_sent_before_its_answer_is_read(po, fast_sandbox):
    events: list[str] = []
    sent = po.rate_limiter.sent

    def note_sent(ticket: str) -> None:
        events.append("sent")
        sent(ticket)

    po.rate_limiter.sent = note_sent
    po.session.hooks["response"].append(lambda response, **kwargs: events.append("answer"))
    fast_sandbox.config(latency_ms=50)
    po.list_departments()
    # The token request and the call: each counted from when it left, not from its answer.
    assert events == ["sent", "answer", "sent", "answer"]


def test_bulk_lane_is_set_on_the_client_and_used_for_every_request(make_client, client_info):
    po = make_client(client_info["client_key"], lane=Lane.BULK)
    po.list_departments()
    po.lane = Lane.INTERACTIVE  # read on every request
    po.list_departments()
    assert po.rate_limiter.lanes == [Lane.BULK, Lane.BULK, Lane.INTERACTIVE]


def test_settings_defaults_apply_without_arguments(settings, sandbox_settings):
    settings.POWEROFFICE_TIMEOUT = 12.5
    settings.POWEROFFICE_RATE_LIMIT = 7
    po = PowerOfficeClient("abc-1234")
    assert po.api_url == sandbox_settings.POWEROFFICE_API_URL
    assert po.token_url == sandbox_settings.POWEROFFICE_TOKEN_URL
    assert po.timeout == 12.5
    assert po.rate_limiter.rate == 7
    # The defaults live in one place, bitnet/settings.py.
    from bitnet import settings as project_settings

    assert project_settings.POWEROFFICE_RATE_LIMIT == 10.0
