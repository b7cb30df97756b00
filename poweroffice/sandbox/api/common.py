"""What every resource module of the sandbox shares: lookups, path ids, the generic GET/POST/
PATCH steps, references shown beside a record, lists, and the checks several DTOs have in common.
"""

import re

from ..contract import FIELDS
from ..query import Filter, filter_names, filtered_list
from ..responses import ApiError, Problems, Response, json_response, now_iso
from ..serialize import serialize
from ..values import canonical_uuid, check_object, is_uuid
from .context import Ctx
from .patch import apply_json_patch

NOT_FOUND_TITLE = "Object(s) not found"
CURRENCIES = ("NOK", "SEK", "DKK", "EUR", "USD", "GBP")

# -- lookups -------------------------------------------------------------------------------


def get(ctx_or_client, collection: str, key) -> dict | None:
    client = ctx_or_client.client if isinstance(ctx_or_client, Ctx) else ctx_or_client
    if key is None:
        return None
    return client["data"][collection].get(str(key))


def records(client: dict, collection: str) -> list[dict]:
    return list(client["data"][collection].values())


def int_param(ctx: Ctx, name: str = "id") -> int:
    value = ctx.params[name]
    if not re.fullmatch(r"\d{1,18}", value):
        raise ApiError(400, "Invalid request", f"The value '{value}' is not a valid id.")
    return int(value)


def uuid_param(ctx: Ctx, name: str = "id") -> str:
    value = ctx.params[name]
    if not is_uuid(value):
        raise ApiError(400, "Invalid request", f"The value '{value}' is not a valid uuid.")
    return canonical_uuid(value)


def not_found(what: str, key) -> ApiError:
    return ApiError(404, NOT_FOUND_TITLE, f"{what} with id = {key} not found.")


def found(ctx: Ctx, collection: str, what: str, key) -> dict:
    """The record with this id, or 404 ``<what> with id = <id> not found.``"""
    record = get(ctx, collection, key)
    if record is None:
        raise not_found(what, key)
    return record


def in_use(what: str, key) -> ApiError:
    return ApiError(
        409, f"{what} conflict", f"{what} with id = {key} is in use and cannot be deleted."
    )


# -- the generic steps of a handler --------------------------------------------------------


def fetch(ctx: Ctx, collection: str, what: str, dto, id_param=int_param, name: str = "id"):
    """A GET of one record: no query parameters, the record or 404, 200 with its DTO."""
    ctx.no_query()
    record = found(ctx, collection, what, id_param(ctx, name))
    return json_response(200, dto(ctx.client, record))


def listing(ctx: Ctx, filters: tuple[Filter, ...], rows: list[dict], dto) -> Response:
    """A GET of a list: the endpoint's named filters (its only query parameters besides paging),
    then the DTOs of the records they keep, ordered and paged."""
    return filtered_list(ctx.query(*filter_names(filters)), filters, rows, dto)


def posted_body(ctx: Ctx, dto: str, title: str) -> tuple[dict, Problems]:
    """A POST body: no query parameters, JSON of the right shape; the problems to add to."""
    ctx.no_query()
    body = ctx.json(title)
    problems = Problems(title)
    check_object(body, dto, problems)
    problems.raise_if_any()
    return body, problems


def post_view(record: dict, dto: str) -> dict:
    """A stored record as the POST DTO would have given it: what a JSON Patch applies to."""
    view = {}
    for key in FIELDS[dto]:
        value = record.get(key)
        if key == "MailAddress" and value:
            value = {k: value.get(k) for k in FIELDS["ContactAddressPostDto"]}
        view[key] = value
    return view


def patched_body(ctx: Ctx, view: dict, dto: str, patch_dto: str, title: str):
    """A PATCH body applied to the POST view of a record; the result checked as a POST."""
    operations = ctx.json(title, patch=True)
    patched = apply_json_patch(view, operations, dto, patch_dto, title)
    problems = Problems(title)
    check_object({k: v for k, v in patched.items() if v is not None}, dto, problems)
    problems.raise_if_any()
    return patched, problems


def created(ctx: Ctx, record: dict, dto: dict) -> Response:
    return json_response(201, dto, headers={"Location": f"{ctx.instance}/{record['Id']}"})


def new_record(ctx: Ctx, **values) -> dict:
    """A record this integration creates now: a new Id, both timestamps, ``values``."""
    now = now_iso()
    return {
        "Id": ctx.state.new_id(ctx.client),
        "CreatedDateTimeOffset": now,
        "LastChangedDateTimeOffset": now,
        **values,
        "_created_by": ctx.app_key,
    }


# -- DTOs with references ------------------------------------------------------------------

# Values PowerOffice shows beside a reference: (property, collection, id property, field).
DEPARTMENT_CODE = ("DepartmentCode", "departments", "DepartmentId", "Code")
MANAGER_NO = ("ManagerEmployeeNo", "employees", "ManagerEmployeeId", "Number")


def _derived(record: dict, name: str, source):
    return source if source is not None else record.get(name)


def with_references(client: dict, record: dict, dto: str, *references, **values) -> dict:
    """The DTO of a record, each reference's value taken from the object it points to (a value
    stored on the record itself wins when the object is not there)."""
    for name, collection, id_key, field in references:
        target = get(client, collection, record.get(id_key))
        values[name] = _derived(record, name, target and target[field])
    return serialize(record, dto, **values)


def hidden(record: dict, key: str) -> str | None:
    # PowerOffice hides national identity numbers behind a special privilege.
    return "hidden" if record.get(key) else None


# -- checks several DTOs share -------------------------------------------------------------


def check_unique(
    problems: Problems, body: dict, key: str, others: list[dict], used_on: str
) -> None:
    """The body's ``key`` may not be the value of one of ``others`` (the first is named)."""
    value = body[key]
    for other in others:
        if other.get(key) == value:
            problems.add(
                key,
                f"{key} is already in use. '{value}' is used on {used_on} Id = {other['Id']}.",
            )
            break


def check_department_ref(
    ctx: Ctx, body: dict, problems: Problems, *, prefix: str = ""
) -> dict | None:
    department_id = body.get("DepartmentId")
    department = None
    if department_id is not None:
        department = get(ctx, "departments", department_id)
        if department is None:
            problems.not_found(
                f"{prefix}DepartmentId", f"Department with id = {department_id} not found."
            )
    elif body.get("DepartmentCode"):
        code = body["DepartmentCode"]
        department = next(
            (d for d in records(ctx.client, "departments") if d.get("Code") == code), None
        )
        if department is None:
            problems.not_found(
                f"{prefix}DepartmentCode", f"Department with code = '{code}' not found."
            )
    if department is not None and not department.get("IsActive"):
        problems.add(
            f"{prefix}DepartmentId",
            f"Department '{department['Code']} {department['Name']}' is not active.",
        )
    return department


def check_not_held(
    problems: Problems, body: dict, prefix: str, keys: tuple[tuple[str, str], ...]
) -> None:
    """References to objects the sandbox does not hold (projects, dimensions, terms ...): 404."""
    for key, what in keys:
        if body.get(key) is not None:
            problems.not_found(f"{prefix}{key}", f"{what} with id = {body[key]} not found.")
