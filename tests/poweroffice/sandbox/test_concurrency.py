"""Concurrent creates (threads and processes) and the state file across a restart."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import requests

from poweroffice.sandbox.seed import default_application_key, default_subscription_key
from poweroffice.sandbox.server import start_sandbox
from tests.poweroffice.sandbox.support import basic

# -- concurrency and persistence ------------------------------------------------------------


def test_concurrent_creates_get_distinct_numbers(po):
    def create(n):
        return po.api.post(
            "/Customers", json={"Name": f"Kunde {n}", "ExternalImportReference": f"c-{n}"}
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(create, range(24)))
    assert {r.status_code for r in responses} == {201}
    numbers = sorted(r.json()["Number"] for r in responses)
    assert numbers == list(range(10000, 10024))


def _create_customers(api_url: str, headers: dict, worker: int) -> list[int]:
    with requests.Session() as http:
        return [
            http.post(
                api_url + "/Customers",
                json={"Name": f"Kunde {worker}-{n}", "ExternalImportReference": f"p{worker}-{n}"},
                headers=headers,
                timeout=30,
            ).status_code
            for n in range(5)
        ]


def test_four_processes_at_once(po):
    headers = {
        "Authorization": f"Bearer {po.sandbox.token(po.key)}",
        "Ocp-Apim-Subscription-Key": po.sandbox.subscription_key,
    }
    # "spawn": a forked child would inherit the test process's open Redis connections.
    with ProcessPoolExecutor(
        max_workers=4, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        results = list(
            pool.map(_create_customers, [po.sandbox.api_url] * 4, [headers] * 4, range(4))
        )
    assert results == [[201] * 5] * 4
    numbers = sorted(c["Number"] for c in po.sandbox.data(po.key, "customers"))
    assert numbers == list(range(10000, 10020))


def test_state_file_survives_restart(tmp_path):
    state_file = tmp_path / "sandbox.json"
    first = start_sandbox(port=0, rate_limit=0, state_file=str(state_file))
    try:
        client = requests.post(
            first.url + "/_sandbox/clients", json={"name": "Demo"}, headers=first.hook_headers
        ).json()
        basic_auth = basic(default_application_key(), client["client_key"])
        headers = {"Ocp-Apim-Subscription-Key": default_subscription_key()}
        token = requests.post(
            first.url + "/OAuth/Token",
            data={"grant_type": "client_credentials"},
            headers={**headers, "Authorization": basic_auth},
        ).json()["access_token"]
        created = requests.post(
            first.url + "/v2/Products",
            json={"Name": "Urne", "Code": "B-1", "UnitPrice": 1250.5},
            headers={**headers, "Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 200
    finally:
        first.stop()
    second = start_sandbox(port=0, rate_limit=0, state_file=str(state_file))
    try:
        products = requests.get(
            second.url + f"/_sandbox/clients/{client['client_key']}/data/products",
            headers=second.hook_headers,
        ).json()
        assert [(p["Code"], float(p["UnitPrice"])) for p in products] == [("B-1", 1250.5)]
    finally:
        second.stop()


def test_state_file_of_an_older_sandbox_gets_int32_vat_code_ids(tmp_path):
    import json

    state_file = tmp_path / "sandbox.json"
    first = start_sandbox(port=0, rate_limit=0, state_file=str(state_file))
    try:
        client = requests.post(
            first.url + "/_sandbox/clients", json={"name": "Demo"}, headers=first.hook_headers
        ).json()
    finally:
        first.stop()
    # What an older sandbox kept: VAT code ids from the client's int64 id range.
    payload = json.loads(state_file.read_text())
    kept = payload["clients"][client["client_key"]]
    del kept["next_vat_id"]
    old_ids = {}
    for old in list(kept["data"]["vatcodes"]):
        record = kept["data"]["vatcodes"].pop(old)
        record["Id"] = old_ids[int(old)] = 9_000_000_000 + int(old)
        kept["data"]["vatcodes"][str(record["Id"])] = record
    for account in kept["data"]["accounts"].values():
        account["VatCodeId"] = old_ids[account["VatCodeId"]]
    state_file.write_text(json.dumps(payload))

    second = start_sandbox(port=0, rate_limit=0, state_file=str(state_file))
    try:
        data = second.url + f"/_sandbox/clients/{client['client_key']}/data"
        vat_ids = {
            v["Id"] for v in requests.get(data + "/vatcodes", headers=second.hook_headers).json()
        }
        accounts = requests.get(data + "/accounts", headers=second.hook_headers).json()
        assert all(0 < vat_id < 2**31 for vat_id in vat_ids)
        assert {a["VatCodeId"] for a in accounts} <= vat_ids
    finally:
        second.stop()
