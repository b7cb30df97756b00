"""Test data factories (factory_boy), in one place."""

import datetime as dt
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from accounting import standard_chart
from accounting.models import Account, Article, Customer, CustomerKind, VatCode
from bitnet.models import Agency, Office, Role, Subgroup, User
from payroll.models import DrivingLog, Trip


class AgencyFactory(DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Begravelsesbyrå {n} AS")


class SubgroupFactory(DjangoModelFactory):
    class Meta:
        model = Subgroup

    agency = factory.SubFactory(AgencyFactory)
    name = factory.Sequence(lambda n: f"Undergruppe {n}")


class OfficeFactory(DjangoModelFactory):
    class Meta:
        model = Office

    subgroup = factory.SubFactory(SubgroupFactory)
    agency = factory.SelfAttribute("subgroup.agency")
    name = factory.Sequence(lambda n: f"Kontor {n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    agency = factory.SubFactory(AgencyFactory)
    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Kari"
    last_name = factory.Sequence(lambda n: f"Nordmann{n}")
    role = Role.USER
    password = factory.PostGenerationMethodCall("set_password", "passord123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class VatCodeFactory(DjangoModelFactory):
    class Meta:
        model = VatCode
        django_get_or_create = ("agency", "code")

    agency = factory.SubFactory(AgencyFactory)
    code = "3"
    rate = standard_chart.vat_code("3").rate
    name = standard_chart.vat_code("3").name


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = Account
        django_get_or_create = ("agency", "number")

    agency = factory.SubFactory(AgencyFactory)
    number = 3000
    name = standard_chart.account(3000).name
    vat_code = factory.SubFactory(VatCodeFactory, agency=factory.SelfAttribute("..agency"))


class ArticleFactory(DjangoModelFactory):
    class Meta:
        model = Article

    agency = factory.SubFactory(AgencyFactory)
    name = factory.Sequence(lambda n: f"Vare {n}")
    unit = "stk"
    price = Decimal("1000.00")
    vat_code = factory.SubFactory(VatCodeFactory, agency=factory.SelfAttribute("..agency"))
    account = factory.SubFactory(
        AccountFactory,
        agency=factory.SelfAttribute("..agency"),
        vat_code=factory.SelfAttribute("..vat_code"),
    )


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    subgroup = factory.SubFactory(SubgroupFactory)
    agency = factory.SelfAttribute("subgroup.agency")
    number = factory.Sequence(lambda n: 10000 + n)
    kind = CustomerKind.PERSON
    name = factory.Sequence(lambda n: f"Ola Hansen {n}")


class DrivingLogFactory(DjangoModelFactory):
    class Meta:
        model = DrivingLog

    driver = factory.SubFactory(UserFactory)
    agency = factory.SelfAttribute("driver.agency")
    period_start = dt.date(2026, 5, 1)
    period_end = dt.date(2026, 5, 31)
    status = "submitted"


class TripFactory(DjangoModelFactory):
    class Meta:
        model = Trip

    log = factory.SubFactory(DrivingLogFactory)
    date = factory.LazyAttribute(lambda o: o.log.period_start)
    from_place = "Oslo"
    to_place = "Drammen"
    purpose = "Henting av avdøde"
    km = Decimal("42.0")
