"""Small shims so the package runs on every supported Python (3.10 and newer)."""

from __future__ import annotations

import sys
from enum import Enum

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - exercised only on 3.10

    class StrEnum(str, Enum):
        """A string-valued enum whose str() is its value (backport of 3.11's StrEnum)."""

        def __str__(self) -> str:
            return str(self.value)


__all__ = ["StrEnum"]
