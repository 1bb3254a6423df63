"""What a plan may ask for: its length in minutes, its concerns, a practice plan's days.

Plain numbers, apart from the builder, so the command line can show them without loading it.
"""

from __future__ import annotations

#: The lengths a plan may ask for, in minutes.
MIN_MINUTES, MAX_MINUTES = 3, 90
#: At most this many concerns in one plan.
MAX_CONCERNS = 3
#: The longest practice plan, in days.
MAX_DAYS = 366
