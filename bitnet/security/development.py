"""Values for development only (DJANGO_DEBUG=true): a fresh machine runs with zero variables.

They are in the repository, so anyone can read them: production never takes them as defaults,
and the system checks refuse them when set explicitly with DEBUG off.
"""

SECRET_KEY = "dev-only-insecure-secret-key-change-me-0123456789abcdef"
FIELD_ENCRYPTION_KEY = "NNQGy20jr352lHpW2d8zusZMbqQ3CQnsK8z7J6ib7aA="
# The local sandbox's defaults (poweroffice/sandbox/seed.py has the same two, on its own).
APPLICATION_KEY = "bitnet-dev-application-key"
SUBSCRIPTION_KEY = "bitnet-dev-subscription-key"
