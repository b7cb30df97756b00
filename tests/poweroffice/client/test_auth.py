"""The client's tokens: client credentials, caching, renewal, wrong keys."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
import redis

from poweroffice.client.errors import AuthenticationError, InvalidClientError, SubscriptionKeyError
from tests.poweroffice.client.support import REDIS_URL, api_log, token_log

# --- authentication ------------------------------------------------------------------------------


def test_token_request_is_client_credentials_with_basic_auth_and_subscription_key(
    fast_sandbox, client_info, make_client
):
    po = make_client(client_info["client_key"])
    info = po.get_client_integration_information()

    assert info["ClientName"] == "Hansen Begravelsesbyrå AS"
    assert info["ClientId"] == client_info["client_id"]
    assert set(info["ActiveClientSubscriptions"]) == {"Accounting", "Payroll"}
    assert "OutgoingInvoiceVoucher_Full" in info["ValidPrivileges"]
    tokens = token_log(fast_sandbox)
    assert len(tokens) == 1
    assert tokens[0]["method"] == "POST"
    assert tokens[0]["status"] == 200
    assert tokens[0]["body"] == {"grant_type": "client_credentials"}
    assert tokens[0]["client_id"] == client_info["client_id"]  # Basic auth named this client
    calls = api_log(fast_sandbox)
    assert [(c["method"], c["route"], c["status"]) for c in calls] == [
        ("GET", "/ClientIntegrationInformation", 200)
    ]
    assert po.stats.requests == 2
    assert po.stats.token_requests == 1


def test_token_is_cached_and_shared_between_clients_of_the_same_key(
    fast_sandbox, client_info, make_client
):
    first = make_client(client_info["client_key"])
    second = make_client(client_info["client_key"])  # e.g. another task in the same worker
    first.list_departments()
    second.list_departments()
    second.list_vat_codes()

    assert len(token_log(fast_sandbox)) == 1
    assert second.stats.token_requests == 0


def test_token_shared_through_redis_cache_keyed_by_a_hash(
    fast_sandbox, client_info, make_client, po_settings
):
    po_settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"client-tests-{uuid.uuid4()}",
        }
    }
    key = client_info["client_key"]
    make_client(key).list_departments()
    # A client built elsewhere (another worker process reads the same Redis) reuses the token.
    other = make_client(key)
    other.list_departments()

    assert len(token_log(fast_sandbox)) == 1
    assert other.stats.token_requests == 0
    names = [k.decode() for k in redis.Redis.from_url(REDIS_URL).keys("*poweroffice:token:*")]
    assert names
    assert not any(key in name for name in names)


def test_token_renewed_before_it_expires(fast_sandbox, client_info, make_client):
    fast_sandbox.config(token_lifetime=2)  # the client renews after half of a short lifetime
    po = make_client(client_info["client_key"])
    po.list_departments()
    _token, expires_at = po.transport.tokens._read()
    assert expires_at - dt.datetime.now().timestamp() <= 1.0
    threading.Event().wait(1.2)
    po.list_departments()

    assert len(token_log(fast_sandbox)) == 2
    assert [c["status"] for c in api_log(fast_sandbox)] == [200, 200]  # never a 401


@pytest.mark.parametrize("hook", ["expire_tokens", "revoke_tokens"])
def test_token_expiring_mid_run_is_renewed_once_and_the_call_repeated(
    fast_sandbox, client_info, make_client, hook
):
    po = make_client(client_info["client_key"])
    assert len(po.list_departments()) == 4
    fast_sandbox.faults(**{hook: True, "client_key": client_info["client_key"]})
    assert len(po.list_departments()) == 4
    assert len(po.list_vat_codes()) > 10

    assert [c["status"] for c in api_log(fast_sandbox)] == [200, 401, 200, 200]
    assert len(token_log(fast_sandbox)) == 2
    assert po.stats.retries == 1


def test_401_after_renewal_is_authentication_error(fast_sandbox, client_info, make_client):
    po = make_client(client_info["client_key"])
    fast_sandbox.faults(status=401, count=2, path="^/Departments$")
    with pytest.raises(AuthenticationError) as caught:
        po.list_departments()

    assert caught.value.status == 401
    assert caught.value.retryable is False
    assert [c["status"] for c in api_log(fast_sandbox)] == [401, 401]
    assert len(token_log(fast_sandbox)) == 2


def test_wrong_client_key_is_invalid_client_error(fast_sandbox, make_client):
    wrong = "00000000-aaaa-bbbb-cccc-" + "1234567890ab"
    po = make_client(wrong)
    with pytest.raises(InvalidClientError) as caught:
        po.get_client_integration_information()

    error = caught.value
    assert error.status == 400
    assert error.retryable is False
    assert error.title == "invalid_client"
    assert "Client integration not found" in error.detail
    assert wrong not in str(error)
    assert api_log(fast_sandbox) == []


def test_wrong_subscription_key_is_our_configuration_not_the_client_key(
    fast_sandbox, client_info, make_client
):
    po = make_client(client_info["client_key"], subscription_key="not-our-subscription")
    with pytest.raises(SubscriptionKeyError) as caught:
        po.list_departments()

    error = caught.value
    assert not isinstance(error, InvalidClientError)
    assert error.status == 401 and error.retryable is False
    assert "invalid subscription key" in error.detail
    # With a token in hand (shared through the cache), an API call refused by the gateway does
    # not renew the token: a new one would not help.
    make_client(client_info["client_key"]).list_departments()
    before = len(token_log(fast_sandbox))
    with pytest.raises(SubscriptionKeyError):
        make_client(client_info["client_key"], subscription_key="changed-since").list_departments()
    assert len(token_log(fast_sandbox)) == before
