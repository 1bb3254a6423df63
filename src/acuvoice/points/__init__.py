"""The acupressure point library: the model (here) and loading and lookup (``points.library``)."""

from __future__ import annotations

from acuvoice.points.model import Condition, DiagramSpot, Point

__all__ = ["Condition", "DiagramSpot", "Point"]
