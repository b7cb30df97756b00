"""The PowerOffice Go sandbox over real HTTP, with plain ``requests`` (never our client).

Where ``../shared/poweroffice/openapi-v2.yaml`` (relative to the repository root) is present,
answers are validated against the contract's response schemas; without it those checks are
skipped.
"""

import math
import os
import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

SPEC_PATH = Path(
    os.environ.get("POWEROFFICE_OPENAPI")
    or Path(__file__).resolve().parents[4] / "shared" / "poweroffice" / "openapi-v2.yaml"
)


# -- the contract ---------------------------------------------------------------------------


def _fits(bits: int):
    def check(value) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            return True  # the type is the schema's business, not the format's
        return -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)

    return check


class Contract:
    """OpenAPI 3.0 response schemas of the contract, as JSON Schema, with $refs resolved."""

    _DROP = {"nullable", "example", "readOnly", "writeOnly", "xml", "externalDocs", "deprecated"}

    def __init__(self, spec: dict):
        from jsonschema import FormatChecker

        self.spec = spec
        self.defs = {n: self._convert(s) for n, s in spec["components"]["schemas"].items()}
        self.checker = FormatChecker()
        timestamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?(Z|[+-]\d\d:\d\d)$")

        @self.checker.checks("date-time", raises=ValueError)
        def _date_time(value):
            if isinstance(value, str) and not timestamp.match(value):
                raise ValueError(value)
            return True

        @self.checker.checks("date", raises=ValueError)
        def _date(value):
            if isinstance(value, str):
                if not re.fullmatch(r"\d{4}-\d\d-\d\d", value):
                    raise ValueError(value)
                date.fromisoformat(value)
            return True

        # The number formats of the contract: jsonschema knows none of them by itself.
        for name, bits in (("int32", 32), ("int64", 64)):
            self.checker.checks(name)(_fits(bits))

        @self.checker.checks("double")
        def _double(value):
            return not isinstance(value, float) or math.isfinite(value)

    def _convert(self, node):
        if isinstance(node, list):
            return [self._convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "$ref":
                out["$ref"] = value.replace("#/components/schemas/", "#/$defs/")
            elif key == "properties":
                out[key] = {name: self._convert(prop) for name, prop in value.items()}
            elif key not in self._DROP:
                out[key] = self._convert(value)
        if node.get("nullable"):
            if "$ref" in out:
                out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
            elif "type" in out:
                out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        return out

    def validate(self, instance, schema: dict) -> None:
        from jsonschema import Draft202012Validator

        root = {**self._convert(schema), "$defs": self.defs}
        Draft202012Validator(root, format_checker=self.checker).validate(instance)

    def check(self, response: requests.Response, path: str, method: str) -> requests.Response:
        """The status is one the contract documents for the operation; the body fits its schema."""
        operation = self.spec["paths"][path][method.lower()]
        status = str(response.status_code)
        # Errors may fall under "default" (a ProblemDetail); success codes must be documented.
        documented = status in operation["responses"] or (
            response.status_code >= 400 and "default" in operation["responses"]
        )
        assert documented, (
            f"{method} {path} answered {status}; the contract documents "
            f"{sorted(operation['responses'])}: {response.text[:300]}"
        )
        if response.status_code == 204:
            assert response.content == b""
            return response
        documentation = operation["responses"].get(status) or operation["responses"]["default"]
        content = documentation.get("content", {}).get("application/json")
        if content and "schema" in content:
            self.validate(response.json(), content["schema"])
        return response

    def check_schema(self, instance, name: str) -> None:
        self.validate(instance, {"$ref": f"#/components/schemas/{name}"})


@pytest.fixture(scope="session")
def _contract():
    if not SPEC_PATH.exists():
        return None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return Contract(yaml.load(fh, Loader=loader))


@pytest.fixture
def contract(_contract):
    if _contract is None:
        pytest.skip(f"{SPEC_PATH} is not present")
    return _contract


@pytest.fixture
def conform(_contract):
    """Validate an answer against the contract when the contract is present."""

    def check(response, path, method="GET"):
        if _contract is not None:
            _contract.check(response, path, method)
        return response

    return check


@pytest.fixture
def po(sandbox):
    """A client in the sandbox with the rate limit off, and its ids by number and code."""
    sandbox.config(rate_limit=0)
    client = sandbox.create_client("Hansen Oslo")
    api = sandbox.api(client["client_key"])
    return SimpleNamespace(
        sandbox=sandbox,
        client=client,
        key=client["client_key"],
        api=api,
        accounts={a["AccountNo"]: a for a in api.get("/GeneralLedgerAccounts").json()},
        vats={v["Code"]: v for v in api.get("/VatCodes").json()},
        departments={d["Code"]: d for d in api.get("/Departments").json()},
        employees={e["Number"]: e for e in api.get("/Employees").json()},
        pay_items={p["Code"]: p for p in api.get("/PayItems").json()},
    )
