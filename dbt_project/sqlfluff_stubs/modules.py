"""dbt's `modules` (the Python modules a Jinja template may use)."""

import datetime  # noqa: F401
import re  # noqa: F401
