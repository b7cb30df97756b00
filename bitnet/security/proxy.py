"""The client's address, for throttling failed logins (django-axes' AXES_CLIENT_IP_CALLABLE).

Behind DJANGO_TRUSTED_PROXY_COUNT reverse proxies every request comes from the nearest proxy's
address. Each proxy appends the address it was reached from to X-Forwarded-For, so the n-th
entry from the right is the address our outermost proxy saw: the real client. Entries further
left were sent by the client itself and prove nothing. Without trusted proxies the header is
ignored: anyone could write it.
"""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = str(request.META.get("REMOTE_ADDR") or "")
    count = int(settings.TRUSTED_PROXY_COUNT)
    if count <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in str(request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")
        if part.strip()
    ]
    if len(forwarded) < count:
        # Not through all of our proxies (reached directly): the peer is the client.
        return remote
    return forwarded[-count]
