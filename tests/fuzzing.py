"""The fuzz tier's settings (tests/unit/test_fuzz_*.py, marked `fuzz`): a few hundred examples per parser in
`make test`, LGCONSOLE_FUZZ_EXAMPLES each in `make fuzz` (10,000). Derandomized where conftest.py loads the `ci`
profile (CI=true): these settings start from the loaded profile and change only the count and the time limits."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("LGCONSOLE_FUZZ_EXAMPLES", "300"))

fuzz = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
