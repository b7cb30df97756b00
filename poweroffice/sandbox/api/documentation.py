"""/VoucherDocumentation: PUT a PDF on a voucher the API imported, list what vouchers have, and
download it (as PowerOffice does, in a zip)."""

import base64
import io
import zipfile
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from ..query import Query, among, equal
from ..responses import ApiError, Response, empty_response, now_iso
from ..serialize import serialize
from ..values import canonical_uuid, dec, is_uuid
from .common import get, listing, not_found, records
from .context import Ctx

MAX_DOCUMENT_BYTES = 30 * 1024 * 1024
DOCUMENTATION_TITLE = "Voucher documentation validation error(s)"

DOCUMENTATION_FILTERS = (
    among("id", "Id", Query.uuids),
    equal("voucherNo", "VoucherNo", Query.integer),
)


def _parse_multipart(ctx: Ctx) -> dict[str, dict]:
    content_type = ctx.headers.get("Content-Type") or ""
    if (
        not content_type.lower().startswith("multipart/form-data")
        or "boundary=" not in content_type
    ):
        raise ApiError(
            415,
            "Unsupported Media Type",
            "Send the file as multipart/form-data with the form field 'file'.",
        )
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: "
        + content_type.encode("latin-1")
        + b"\r\nMIME-Version: 1.0\r\n\r\n"
        + ctx.body
    )
    if not message.is_multipart():
        raise ApiError(400, DOCUMENTATION_TITLE, "The multipart body could not be read.")
    parts: dict[str, dict[str, Any]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name or not isinstance(name, str):  # a tuple: an RFC 2231 name, not "file"
            continue
        parts[name] = {
            "filename": part.get_filename(),
            "content_type": part.get_content_type() if part.get("Content-Type") else None,
            "data": part.get_payload(decode=True) or b"",
        }
    return parts


def put_documentation(ctx: Ctx) -> Response:
    q = ctx.query("id")
    voucher_id = q.raw("id")
    if voucher_id is None:
        raise ApiError(
            400, DOCUMENTATION_TITLE, "The query parameter id (the voucher id) is required."
        )
    if not is_uuid(voucher_id):
        raise ApiError(
            400, DOCUMENTATION_TITLE, f"The value '{voucher_id}' is not a valid voucher id (uuid)."
        )
    voucher_id = canonical_uuid(voucher_id)
    voucher = get(ctx, "vouchers", voucher_id)
    if voucher is None:
        raise not_found("Voucher", voucher_id)
    if not voucher.get("_created_by"):
        raise ApiError(
            400,
            DOCUMENTATION_TITLE,
            "Documentation can only be added to vouchers imported by the API.",
        )
    previous = ctx.client["attachments"].get(voucher_id)
    if previous and previous.get("application_key") != ctx.app_key:
        raise ApiError(
            400,
            DOCUMENTATION_TITLE,
            "The documentation can only be replaced by the integration that imported it.",
        )
    parts = _parse_multipart(ctx)
    part = parts.get("file")
    if part is None:
        raise ApiError(
            400,
            DOCUMENTATION_TITLE,
            f"The form field 'file' is missing (got: {', '.join(parts) or 'no fields'}).",
        )
    data = part["data"]
    if not data:
        raise ApiError(400, DOCUMENTATION_TITLE, "The file is empty.")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ApiError(
            400, DOCUMENTATION_TITLE, f"The file is {len(data)} bytes; the limit is 30 MB."
        )
    if part["content_type"] not in (None, "application/pdf", "application/octet-stream"):
        raise ApiError(
            400,
            DOCUMENTATION_TITLE,
            f"Only PDF files can be imported (got {part['content_type']}).",
        )
    if not data.startswith(b"%PDF-"):
        raise ApiError(
            400,
            DOCUMENTATION_TITLE,
            "Only PDF files can be imported: the file does not start with %PDF-.",
        )
    ctx.client["attachments"][voucher_id] = {
        "filename": part["filename"] or "dokumentasjon.pdf",
        "content_type": "application/pdf",
        "size": len(data),
        "data": base64.b64encode(data).decode(),
        "uploaded": now_iso(),
        "application_key": ctx.app_key,
    }
    return empty_response(204)


def _documentation_dto(ctx: Ctx, voucher: dict) -> dict:
    return serialize(
        {
            "HasEhf": False,
            "HasImages": False,
            "HasPdf": voucher["Id"] in ctx.client["attachments"],
            "HasSalesOrderAttachments": False,
            "IsImported": bool(voucher.get("_created_by")),
            "VoucherId": voucher["Id"],
            "VoucherNo": voucher.get("VoucherNo"),
            "VoucherType": "OutgoingCreditNote"
            if dec(voucher.get("CurrencyAmount") or 0) < 0
            else "OutgoingInvoice",
        },
        "VoucherDocumentationDto",
    )


def list_documentation(ctx: Ctx) -> Response:
    return listing(
        ctx,
        DOCUMENTATION_FILTERS,
        records(ctx.client, "vouchers"),
        lambda voucher: _documentation_dto(ctx, voucher),
    )


def download_documentation(ctx: Ctx) -> Response:
    q = ctx.query("id", "documentationType")
    voucher_id = q.raw("id")
    if voucher_id is None or not is_uuid(voucher_id):
        raise ApiError(
            400, DOCUMENTATION_TITLE, "The query parameter id (the voucher id, a uuid) is required."
        )
    kind = q.raw("documentationType")
    voucher_id = canonical_uuid(voucher_id)
    if get(ctx, "vouchers", voucher_id) is None:
        raise not_found("Voucher", voucher_id)
    attachment = ctx.client["attachments"].get(voucher_id)
    if attachment is None or (kind and kind.lower() not in ("pdf",)):
        return empty_response(204)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(attachment["filename"], base64.b64decode(attachment["data"]))
    return Response(status=200, body=buffer.getvalue(), content_type="application/zip")
