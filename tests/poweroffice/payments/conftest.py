import pytest

from tests.fixtures.payments import PowerOfficeClientSetup


@pytest.fixture
def po(sandbox, sandbox_settings, subgroup_a):
    """Subgroup A's PowerOffice client in the sandbox, with exact windows (the safety margin
    has a test of its own) and short backoffs."""
    sandbox_settings.POWEROFFICE_PAYMENTS_SAFETY_MARGIN = 0
    sandbox_settings.POWEROFFICE_BACKOFF_BASE = 0.01
    return PowerOfficeClientSetup(sandbox, subgroup_a)
