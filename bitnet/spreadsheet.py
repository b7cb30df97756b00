"""'Last ned' of a list: CSV that opens right in Norwegian Excel, and XLSX (openpyxl).

CSV as Excel with Norwegian settings reads it: semicolons between cells, a decimal comma, dates
as dd.mm.åååå, UTF-8 with a byte order mark (without it Excel reads "Dødsbo" as "DÃ¸dsbo").
A text cell that starts with = + - @ (or a tab or carriage return) would be read as a formula
by a spreadsheet, so it gets a leading apostrophe (OWASP "CSV injection"); numbers are written
as numbers and are never touched. XLSX cells are typed (numbers, dates, text), text cells never
become formulas, and the same text is neutralised the same way.

Both stream or build the rows from one queryset iteration: the number of queries does not grow
with the rows (the caller selects the related rows the columns read).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

Kind = Literal["text", "int", "money", "number", "date"]
FORMATS = ("csv", "xlsx")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One column of a download: its header and how a row gives its value."""

    header: str
    value: Callable[[Any], Any]
    kind: Kind = "text"


def neutralised(text: str) -> str:
    """Text a spreadsheet will show as text, never run as a formula."""
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def csv_cell(value: Any, kind: Kind) -> str:
    """One value as Norwegian Excel reads it from a CSV file."""
    if value is None or value == "":
        return ""
    if kind in ("money", "number") and isinstance(value, Decimal | int | float):
        text = f"{value:.2f}" if kind == "money" else format(Decimal(value).normalize(), "f")
        return text.replace(".", ",")
    if kind == "int" and isinstance(value, int):
        return str(value)
    if kind == "date" and isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return neutralised(str(value))


class _Echo:
    """A file that hands back what is written to it, for csv.writer on a streamed response."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(columns: list[Column], rows: Iterable[Any]) -> Iterator[str]:
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    yield "\ufeff" + writer.writerow([neutralised(c.header) for c in columns])
    for row in rows:
        yield writer.writerow([csv_cell(c.value(row), c.kind) for c in columns])


def csv_response(
    *, filename: str, columns: list[Column], rows: Iterable[Any]
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in _csv_lines(columns, rows)), content_type=CSV_TYPE
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


_NUMBER_FORMATS = {"money": "#,##0.00", "number": "#,##0.###", "int": "0", "date": "DD.MM.YYYY"}


def xlsx_bytes(*, sheet: str, columns: list[Column], rows: Iterable[Any]) -> bytes:
    """An XLSX workbook of one sheet: a bold header row, typed cells, sensible widths."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    ws = book.create_sheet(title=sheet[:31])
    for index, column in enumerate(columns):
        letter = _column_letter(index)
        width = 14 if column.kind != "text" else max(12, min(40, len(column.header) + 8))
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=neutralised(column.header))
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in rows:
        ws.append([_xlsx_cell(ws, column.value(row), column.kind) for column in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index + 1))


def _xlsx_cell(ws: Any, value: Any, kind: Kind) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if value is None or value == "":
        return None
    if kind != "text" and isinstance(value, Decimal | int | float | dt.date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = _NUMBER_FORMATS[kind]
        return cell
    cell = WriteOnlyCell(ws, value=neutralised(str(value)))
    cell.data_type = "s"  # a string, even if it looks like "=…": never a formula
    return cell


def xlsx_response(
    *, filename: str, sheet: str, columns: list[Column], rows: Iterable[Any]
) -> HttpResponse:
    response = HttpResponse(xlsx_bytes(sheet=sheet, columns=columns, rows=rows), XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


def download_response(
    fmt: str, *, filename: str, sheet: str, columns: list[Column], rows: Iterable[Any]
) -> HttpResponseBase:
    """``fmt`` is "csv" or "xlsx" (see FORMATS)."""
    if fmt == "xlsx":
        return xlsx_response(filename=filename, sheet=sheet, columns=columns, rows=rows)
    return csv_response(filename=filename, columns=columns, rows=rows)
