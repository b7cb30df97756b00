"""Settings for pytest: bitnet.settings in development mode (DJANGO_DEBUG on unless set), so
that ``pytest`` alone needs no configuration, like bin/test. Processes the tests start inherit
the variable. The tests of production settings start processes with an environment of their own.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "true")

from bitnet.settings import *  # noqa: F403
