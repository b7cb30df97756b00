"""The home page leads each role to its daily work."""

import pytest

pytestmark = pytest.mark.django_db


def test_payroll_staff_get_their_way_to_lonnseksport(client, payroll_a, user_a):
    client.force_login(payroll_a)
    html = client.get("/").content.decode()
    body = html.split('<main class="page', 1)[1]  # not the menu
    assert '<a class="btn btn-primary" href="/lonn/lonnseksport/ny/">Ny lønnseksport</a>' in body
    assert 'href="/lonn/lonnseksport/"' in body and 'href="/lonn/lonnskoder/"' in body

    client.force_login(user_a)
    body = client.get("/").content.decode().split('<main class="page', 1)[1]
    assert "/lonn/lonnseksport/" not in body and 'href="/lonn/kjoreboker/"' in body
