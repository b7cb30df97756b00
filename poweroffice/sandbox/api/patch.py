"""JSON Patch (RFC 6902) on a PowerOffice patch DTO: the PATCH endpoints of customers, products
and salary lines apply it to the POST view of the record, then check the result as a POST."""

import json
from decimal import Decimal

from ..contract import FIELDS
from ..responses import ApiError

_MEMBERS = {"op", "path", "value", "from"}


def apply_json_patch(document: dict, operations, dto: str, patch_dto: str, title: str) -> dict:
    """RFC 6902 on a PowerOffice patch DTO: add, replace, remove, test, copy, move."""
    if not isinstance(operations, list) or not operations:
        raise ApiError(400, title, "The body must be a non-empty JSON Patch array of operations.")
    document = json.loads(json.dumps(document, default=str), parse_float=Decimal)
    patch = _Patch({**document}, dto, patch_dto, title)
    for index, operation in enumerate(operations):
        patch.apply(index, operation)
    return patch.document


class _Patch:
    def __init__(self, document: dict, dto: str, patch_dto: str, title: str):
        self.document = document
        self.dto = dto
        self.patch_dto = patch_dto
        self.title = title

    def _error(self, detail: str) -> ApiError:
        return ApiError(400, self.title, detail)

    def apply(self, index: int, operation) -> None:
        if not isinstance(operation, dict):
            raise self._error(f"Operation {index} must be an object with op and path.")
        unknown = set(operation) - _MEMBERS
        if unknown:
            raise self._error(
                f"Operation {index} has unknown member(s): {', '.join(sorted(unknown))}."
            )
        op = operation.get("op")
        parent, key = self.target(operation.get("path"), index)
        if op in ("add", "replace"):
            if "value" not in operation:
                raise self._error(f"Operation {index} ({op}) needs a value.")
            parent[key] = operation["value"]
        elif op == "remove":
            parent[key] = None
        elif op == "test":
            if parent.get(key) != operation.get("value"):
                raise self._error(f"Operation {index}: test failed for path '{operation['path']}'.")
        elif op in ("copy", "move"):
            source_parent, source_key = self.target(operation.get("from"), index)
            parent[key] = source_parent.get(source_key)
            if op == "move":
                source_parent[source_key] = None
        else:
            raise self._error(
                f"Operation {index}: op '{op}' is not one of add, replace, remove, test, copy, "
                "move."
            )

    def target(self, path, index: int) -> tuple[dict, str]:
        """The object a path points into and the property it names (nested objects are made)."""
        if not isinstance(path, str) or not path.startswith("/"):
            raise self._error(f"Operation {index}: path '{path}' must start with '/'.")
        segments = [s.replace("~1", "/").replace("~0", "~") for s in path[1:].split("/")]
        fields = FIELDS[self.dto]
        parent = self.document
        for depth, segment in enumerate(segments):
            kind = self._writable_kind(fields, segment)
            if depth == len(segments) - 1:
                return parent, segment
            if not kind.startswith("obj:"):
                raise self._error(
                    f"{self.patch_dto}: path '{path}' goes below a value that is not an object."
                )
            if not isinstance(parent.get(segment), dict):
                parent[segment] = {}
            nested_dto = kind[4:]
            if nested_dto == "ContactAddressDto":
                nested_dto = "ContactAddressPostDto"
            fields = FIELDS[nested_dto]
            parent = parent[segment]
        raise self._error(f"Operation {index}: path '{path}' is empty.")

    def _writable_kind(self, fields: dict, segment: str) -> str:
        spec = fields.get(segment)
        if spec is None:
            proper = {n.lower(): n for n in fields}.get(segment.lower())
            hint = f" Did you mean '{proper}'?" if proper else ""
            raise self._error(
                f"{self.patch_dto}: The target location specified by path segment '{segment}' "
                f"was not found.{hint}"
            )
        if "r" in spec[1]:
            raise self._error(f"{self.patch_dto}: {segment} is read-only and cannot be changed.")
        return spec[0]
