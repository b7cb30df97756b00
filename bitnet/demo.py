"""The demo agency: realistic, deterministic data for trying Bitnet (python manage.py seed_demo).

Idempotent: every row is found by its natural key before it is created, and invoices and trips
are only generated for an agency that has none yet, so running it twice changes nothing.
"""

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from django.db import transaction
from django.utils import timezone

from accounting import standard_chart
from accounting.customers.services import customer_create
from accounting.invoices.services import LineInput, invoice_create
from accounting.models import Account, Article, Customer, CustomerKind, Invoice, VatCode
from bitnet import demo_staff
from bitnet.models import Agency, Office, Subgroup, User
from payroll.models import DrivingLog, DrivingLogStatus, Trip

AGENCY_NAME = "Minnehagen Begravelsesbyrå AS"
DEMO_PASSWORD = "demo"

# The demo chart is taken from the one shared table, which the sandbox seeds too, so
# "Valider kontoplan" is clean and invoices export at once.
VAT_CODES = [
    # SAF-T code, rate %, name
    (vat.code, vat.rate, vat.name)
    for vat in standard_chart.vat_codes("0", "3", "31", "33", "5", "6")
]
ACCOUNTS = [
    # number, name, VAT code
    (row.number, row.name, row.bitnet_vat_code)
    for row in standard_chart.accounts(
        1500, 1920, 2400, 2700, 3000, 3020, 3030, 3040, 3100, 3200, 3210, 5000, 7100, 7140
    )
]

ARTICLES = [
    # name, unit, price eks. mva, account
    ("Kiste, hvit standard", "stk", "9200.00", 3020),
    ("Kiste, furu natur", "stk", "7600.00", 3020),
    ("Kiste, eik heltre", "stk", "18400.00", 3020),
    ("Barnekiste", "stk", "4800.00", 3020),
    ("Urne, standard", "stk", "1350.00", 3020),
    ("Urne, keramikk", "stk", "2900.00", 3020),
    ("Urne, nedbrytbar", "stk", "1900.00", 3020),
    ("Svøpning og liksvøp", "stk", "1150.00", 3000),
    ("Navneplate", "stk", "450.00", 3000),
    ("Kistepynt, bårebukett", "stk", "2100.00", 3000),
    ("Krans", "stk", "1650.00", 3000),
    ("Blomster, bordbuketter", "stk", "480.00", 3000),
    ("Sorgbånd med tekst", "stk", "320.00", 3000),
    ("Annonse, Aftenposten", "stk", "4200.00", 3000),
    ("Annonse, lokalavis", "stk", "2300.00", 3000),
    ("Programhefte, trykk", "stk", "38.00", 3000),
    ("Minnebok", "stk", "390.00", 3100),
    ("Servering minnesamvær", "pers", "185.00", 3030),
    ("Transport av pårørende, minibuss", "tur", "1600.00", 3040),
    ("Transport av avdøde", "stk", "3900.00", 3200),
    ("Transport av avdøde, tillegg per km", "km", "24.00", 3200),
    ("Byråets honorar", "stk", "6500.00", 3200),
    ("Stell av avdøde", "stk", "1900.00", 3200),
    ("Seremoni, planlegging og gjennomføring", "stk", "5200.00", 3200),
    ("Seremonirom, leie", "stk", "2500.00", 3200),
    ("Kremasjonsavgift (utlegg)", "stk", "2990.00", 3210),
    ("Gravferdsavgift kirkegård (utlegg)", "stk", "4100.00", 3210),
    ("Organist og solist (utlegg)", "stk", "3400.00", 3210),
    ("Oppbevaring i kjølerom", "døgn", "350.00", 3200),
    ("Gravstein, navnetilføyelse", "stk", "3800.00", 3000),
]

FIRST_NAMES = [
    "Ola",
    "Kari",
    "Per",
    "Anne",
    "Lars",
    "Ingrid",
    "Knut",
    "Solveig",
    "Arne",
    "Marit",
    "Bjørn",
    "Randi",
    "Terje",
    "Liv",
    "Svein",
    "Berit",
    "Geir",
    "Astrid",
    "Odd",
    "Hilde",
]
LAST_NAMES = [
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Andreassen",
    "Jacobsen",
    "Dahl",
]
STREETS = [
    "Kirkeveien",
    "Storgata",
    "Bygdøy allé",
    "Thereses gate",
    "Ullevålsveien",
    "Drammensveien",
    "Konnerudgata",
    "Tollbugata",
    "Bragernes torg",
    "Lierveien",
]
PLACES = [
    ("0368", "Oslo"),
    ("0555", "Oslo"),
    ("0172", "Oslo"),
    ("3015", "Drammen"),
    ("3040", "Drammen"),
    ("3400", "Lier"),
    ("1366", "Lysaker"),
    ("1337", "Sandvika"),
]
COMPANIES = [
    ("Oslo Kommune Bydel Frogner", "974778874"),
    ("NAV Gravferdsstønad", "889640782"),
    ("Drammen kirkelige fellesråd", "976993381"),
    ("Vestre Viken HF", "894166762"),
    ("Storebrand Livsforsikring AS", "958995369"),
]


# The demo's users are the people of bitnet/demo_staff.py who log in; the sandbox's employees
# are the same people, so each Ansettelsesnr. names the same person on both sides.
USERS = [person for person in demo_staff.STAFF if person.username]
DRIVERS = ["bruker", "sjafor.nils", "sjafor.tone", "sjafor.rune"]

# Each demo subgroup's own company (valid MOD11 numbers), the same on its sandbox client, so
# Koble til PowerOffice proposes the right subgroup for each approved client.
ORG_NUMBERS = {"Minnehagen Oslo": "916800002", "Minnehagen Viken": "916800010"}

SUBGROUPS = [
    # name, invoice series, customer series, offices
    (
        "Minnehagen Oslo",
        (100001, 199999),
        (10000, 14999),
        [
            ("Majorstuen", "Kirkeveien 64", "0368", "Oslo"),
            ("Grünerløkka", "Thorvald Meyers gate 40", "0555", "Oslo"),
        ],
    ),
    (
        "Minnehagen Viken",
        (200001, 299999),
        (15000, 19999),
        [
            ("Drammen", "Bragernes torg 4", "3017", "Drammen"),
        ],
    ),
]


def _agency() -> Agency:
    agency, _ = Agency.objects.get_or_create(name=AGENCY_NAME, defaults={"org_number": "914778271"})
    return agency


def _structure(agency: Agency) -> dict[str, Office]:
    offices: dict[str, Office] = {}
    for name, inv, cust, office_rows in SUBGROUPS:
        subgroup, _ = Subgroup.objects.get_or_create(
            agency=agency,
            name=name,
            defaults={
                "invoice_series_start": inv[0],
                "invoice_series_end": inv[1],
                "next_invoice_number": inv[0],
                "customer_series_start": cust[0],
                "customer_series_end": cust[1],
                "next_customer_number": cust[0],
                "bank_account": "12345678903",
                "org_number": ORG_NUMBERS.get(name, ""),
            },
        )
        if not subgroup.org_number and ORG_NUMBERS.get(name):
            subgroup.org_number = ORG_NUMBERS[name]
            subgroup.save(update_fields=["org_number"])
        for office_name, address, postal_code, city in office_rows:
            office, _ = Office.objects.get_or_create(
                agency=agency,
                subgroup=subgroup,
                name=office_name,
                defaults={
                    "address": address,
                    "postal_code": postal_code,
                    "city": city,
                    "phone": "22 60 00 00",
                },
            )
            offices[office_name] = office
    return offices


def _users(agency: Agency, offices: dict[str, Office]) -> dict[str, User]:
    users = {}
    for spec in USERS:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = User(username=spec.username)
            user.set_password(DEMO_PASSWORD)
        user.agency = agency
        user.first_name = spec.first_name
        user.last_name = spec.last_name
        user.role = spec.role
        user.office = offices[spec.office]
        user.employee_number = spec.number
        user.email = f"{spec.username}@minnehagen.example"
        user.save()
        users[spec.username] = user
    return users


def _chart(agency: Agency) -> dict[str, list]:
    vat = {}
    for code, rate, name in VAT_CODES:
        vat[code], _ = VatCode.objects.get_or_create(
            agency=agency, code=code, defaults={"rate": Decimal(rate), "name": name}
        )
    accounts = {}
    for number, name, vat_code in ACCOUNTS:
        accounts[number], _ = Account.objects.get_or_create(
            agency=agency,
            number=number,
            defaults={"name": name, "vat_code": vat[vat_code] if vat_code else None},
        )
    articles = []
    for name, unit, price, account_no in ARTICLES:
        account = accounts[account_no]
        article, _ = Article.objects.get_or_create(
            agency=agency,
            name=name,
            defaults={
                "unit": unit,
                "price": Decimal(price),
                "account": account,
                # Every article sits on a sales account, and those all carry a VAT code.
                "vat_code": cast(VatCode, account.vat_code),
            },
        )
        articles.append(article)
    return {"articles": articles}


def _customers(agency: Agency, rng: random.Random) -> list[Customer]:
    if Customer.objects.filter(agency=agency).exists():
        return list(Customer.objects.filter(agency=agency))
    subgroups = list(agency.subgroups.order_by("name"))
    customers = []
    for i in range(50):
        subgroup = subgroups[i % len(subgroups)]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        postal_code, city = rng.choice(PLACES)
        address = f"{rng.choice(STREETS)} {rng.randint(1, 120)}"
        if i % 10 < 4:  # estates are the common case for a funeral invoice
            customers.append(
                customer_create(
                    subgroup=subgroup,
                    kind=CustomerKind.ESTATE,
                    name="",
                    deceased_name=f"{first} {last}",
                    address=address,
                    postal_code=postal_code,
                    city=city,
                )
            )
        elif i % 10 < 9:
            customers.append(
                customer_create(
                    subgroup=subgroup,
                    kind=CustomerKind.PERSON,
                    name=f"{first} {last}",
                    email=f"{first.lower()}.{last.lower()}@example.no".replace("ø", "o"),
                    phone=f"9{rng.randint(1000000, 9999999)}",
                    address=address,
                    postal_code=postal_code,
                    city=city,
                )
            )
        else:
            name, org = COMPANIES[(i // 10) % len(COMPANIES)]
            customers.append(
                customer_create(
                    subgroup=subgroup,
                    kind=CustomerKind.COMPANY,
                    name=name,
                    org_number=org,
                    address=address,
                    postal_code=postal_code,
                    city=city,
                )
            )
    return customers


def _invoices(
    agency: Agency,
    users: dict[str, User],
    articles: list[Article],
    customers: list[Customer],
    rng: random.Random,
    count: int,
) -> int:
    if Invoice.objects.filter(agency=agency).exists():
        return 0
    by_name = {a.name: a for a in articles}
    packages = [
        [
            "Kiste, hvit standard",
            "Svøpning og liksvøp",
            "Transport av avdøde",
            "Byråets honorar",
            "Seremoni, planlegging og gjennomføring",
            "Kremasjonsavgift (utlegg)",
            "Urne, standard",
        ],
        [
            "Kiste, furu natur",
            "Kistepynt, bårebukett",
            "Annonse, lokalavis",
            "Transport av avdøde",
            "Byråets honorar",
            "Gravferdsavgift kirkegård (utlegg)",
            "Minnebok",
        ],
        [
            "Kiste, eik heltre",
            "Kistepynt, bårebukett",
            "Krans",
            "Annonse, Aftenposten",
            "Programhefte, trykk",
            "Servering minnesamvær",
            "Transport av pårørende, minibuss",
            "Byråets honorar",
            "Organist og solist (utlegg)",
        ],
        [
            "Urne, nedbrytbar",
            "Blomster, bordbuketter",
            "Sorgbånd med tekst",
            "Seremonirom, leie",
            "Stell av avdøde",
            "Oppbevaring i kjølerom",
            "Minnebok",
        ],
        ["Gravstein, navnetilføyelse", "Navneplate"],
    ]
    creators = [users["okonomi"], users["admin"]]
    offices_by_subgroup: dict[int, list[Office]] = {}
    for office in Office.objects.filter(agency=agency):
        offices_by_subgroup.setdefault(office.subgroup_id, []).append(office)
    today = timezone.localdate()
    dates = sorted(today - dt.timedelta(days=rng.randint(1, 180)) for _ in range(count))
    for invoice_date in dates:
        customer = rng.choice(customers)
        package = rng.choice(packages)
        lines = []
        for name in package:
            article = by_name[name]
            if article.unit == "pers":
                quantity = Decimal(rng.randint(15, 60))
            elif article.unit == "km":
                quantity = Decimal(rng.randint(10, 90))
            elif article.unit == "døgn":
                quantity = Decimal(rng.randint(1, 6))
            elif name == "Programhefte, trykk":
                quantity = Decimal(rng.choice([50, 80, 100, 150]))
            else:
                quantity = Decimal(1)
            lines.append(LineInput(article=article, quantity=quantity))
        deceased = customer.deceased_name or (f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")
        invoice_create(
            created_by=rng.choice(creators),
            office=rng.choice(offices_by_subgroup[customer.subgroup_id]),
            customer=customer,
            lines=lines,
            invoice_date=invoice_date,
            deceased_name=deceased,
            our_reference=rng.choice(["Astrid Lunde", "Erik Solberg"]),
        )
    return count


def _driving_logs(agency: Agency, users: dict[str, User], rng: random.Random) -> int:
    if DrivingLog.objects.filter(agency=agency).exists():
        return 0
    today = timezone.localdate()
    first_this_month = today.replace(day=1)
    last_month_end = first_this_month - dt.timedelta(days=1)
    months = [last_month_end.replace(day=1), first_this_month]
    routes = [
        ("Majorstuen", "Ullevål sykehus", "Henting av avdøde", Decimal("6.5"), Decimal("0")),
        ("Majorstuen", "Vestre gravlund", "Seremoni", Decimal("4.2"), Decimal("0")),
        (
            "Grünerløkka",
            "Alfaset krematorium",
            "Transport til kremasjon",
            Decimal("11.8"),
            Decimal("44.00"),
        ),
        ("Drammen", "Bragernes kirke", "Seremoni", Decimal("3.1"), Decimal("0")),
        ("Drammen", "Oslo krematorium", "Transport av avdøde", Decimal("41.0"), Decimal("118.00")),
        ("Drammen", "Lier sykehjem", "Henting av avdøde", Decimal("14.6"), Decimal("27.00")),
        ("Majorstuen", "Bærum sykehus", "Henting av avdøde", Decimal("19.4"), Decimal("62.00")),
    ]
    created = 0
    for username in DRIVERS:
        driver = users[username]
        for month_start in months:
            next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
            period_end = next_month - dt.timedelta(days=1)
            is_current = month_start == first_this_month
            log = DrivingLog.objects.create(
                agency=agency,
                driver=driver,
                period_start=month_start,
                period_end=period_end,
                status=DrivingLogStatus.DRAFT if is_current else DrivingLogStatus.APPROVED,
                vehicle=f"EL {rng.randint(10000, 99999)}",
            )
            last_day = min(period_end, today) if is_current else period_end
            trips = []
            for _ in range(rng.randint(6, 14)):
                day = month_start + dt.timedelta(days=rng.randint(0, (last_day - month_start).days))
                start, end, purpose, km, toll = rng.choice(routes)
                trips.append(
                    Trip(
                        log=log,
                        date=day,
                        from_place=start,
                        to_place=end,
                        purpose=purpose,
                        km=km * 2,
                        passengers=rng.choice([0, 0, 0, 1, 2]),
                        toll=toll,
                        parking=rng.choice([Decimal("0"), Decimal("0"), Decimal("45.00")]),
                        ferry=Decimal("0"),
                        trailer=rng.random() < 0.1,
                    )
                )
            Trip.objects.bulk_create(sorted(trips, key=lambda t: t.date))
            created += 1
    return created


@dataclass
class DemoSummary:
    agency: Agency
    invoices_created: int
    logs_created: int


def demo_seed(*, invoices: int = 200) -> DemoSummary:
    """Create (or complete) the demo agency. Deterministic for a given day."""
    rng = random.Random(20261123)
    with transaction.atomic():
        agency = _agency()
        offices = _structure(agency)
        users = _users(agency, offices)
        chart = _chart(agency)
        customers = _customers(agency, rng)
        created = _invoices(agency, users, chart["articles"], customers, rng, invoices)
        logs = _driving_logs(agency, users, rng)
    return DemoSummary(agency=agency, invoices_created=created, logs_created=logs)
