"""One call to a /v2 endpoint as its handler sees it (``Ctx``), and its JSON body read strictly."""

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from email.message import Message

from ..query import Query
from ..responses import ApiError
from ..state import SandboxState

JSON_TYPES = ("application/json", "text/json", "application/json-patch+json")


@dataclass
class Ctx:
    state: SandboxState
    client: dict
    token: dict
    method: str
    route: str
    params: dict
    pairs: list[tuple[str, str]]
    headers: Message
    body: bytes
    instance: str

    @property
    def data(self) -> dict[str, dict[str, dict]]:
        return self.client["data"]

    @property
    def app_key(self) -> str:
        return self.token["application_key"]

    def query(self, *allowed: str) -> Query:
        return Query(self.pairs, allowed)

    def no_query(self) -> None:
        Query(self.pairs, ()).page()

    def json(self, title: str, *, patch: bool = False):
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if patch:
            if content_type != "application/json-patch+json":
                raise ApiError(
                    415,
                    "Unsupported Media Type",
                    "PATCH takes a JSON Patch document with Content-Type "
                    "application/json-patch+json.",
                )
        elif not (
            content_type in JSON_TYPES or re.fullmatch(r"application/[\w.-]+\+json", content_type)
        ):
            raise ApiError(
                415,
                "Unsupported Media Type",
                f"Content-Type '{content_type or '(none)'}' is not supported; send "
                "application/json.",
            )
        return parse_json(self.body, title)


def parse_json(raw: bytes, title: str):
    if not raw.strip():
        raise ApiError(400, title, "A non-empty request body is required.")

    def pairs_hook(pairs):
        seen = {}
        for key, value in pairs:
            if key in seen:
                raise ApiError(400, title, f"Property '{key}' appears twice in the same object.")
            seen[key] = value
        return seen

    def constant(name):
        raise ApiError(400, title, f"'{name}' is not valid JSON.")

    try:
        return json.loads(
            raw.decode("utf-8"),
            parse_float=Decimal,
            object_pairs_hook=pairs_hook,
            parse_constant=constant,
        )
    except UnicodeDecodeError as exc:
        raise ApiError(400, title, "The request body is not UTF-8.") from exc
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, title, f"The request body is not valid JSON: {exc.msg} at position {exc.pos}."
        ) from exc
