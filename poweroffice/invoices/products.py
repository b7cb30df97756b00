"""Our articles as PowerOffice products "B-<article id>" (SPEC Part A, item 10).

A product missing in PowerOffice is created there. Its price in PowerOffice is only a default:
every exported line carries Bitnet's own price as its amount, whatever the product says.
"""

from __future__ import annotations

from accounting.models import Article
from poweroffice.invoices.reference import Dto, ExportCache

# Our units to PowerOffice's UnitOfMeasureType (UN/ECE rec. 20 codes). Unknown units are left out.
UNIT_CODES = {
    "stk": "EA",
    "pers": "EA",
    "tur": "EA",
    "km": "KMT",
    "time": "HUR",
    "timer": "HUR",
    "t": "HUR",
    "døgn": "DAY",
    "dag": "DAY",
    "dager": "DAY",
    "l": "LTR",
    "kg": "KGM",
    "m": "MTR",
    "m2": "MTK",
    "mnd": "MON",
    "sett": "SET",
}


def product_code(article: Article | int) -> str:
    article_id = article if isinstance(article, int) else article.pk
    return f"B-{article_id}"


def product_body(article: Article, *, sales_account_id: int | None) -> Dto:
    """ProductPostDto for one of our articles."""
    body: Dto = {
        "Code": product_code(article),
        "Name": article.name,
        "UnitPrice": article.price,
    }
    if sales_account_id:
        body["StandardSalesAccountId"] = sales_account_id
    unit = UNIT_CODES.get(article.unit.strip().lower())
    if unit:
        body["UnitOfMeasureCode"] = unit
    return body


def product_ensure(*, cache: ExportCache, article: Article) -> Dto:
    """PowerOffice's product for ``article`` (``ProductDto``), created when missing."""
    code = product_code(article)
    found = cache.product(code)
    if found is not None:
        return found
    with cache.creating:
        # Another thread of the run may have created it meanwhile.
        found = cache.product(code)
        if found is not None:
            return found
        account = cache.account(article.account.number)
        body = product_body(article, sales_account_id=account.get("Id"))
        created = cache.client.create_product(body)
        cache.remember_product(created)
        return created
