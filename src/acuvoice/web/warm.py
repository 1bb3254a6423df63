"""Imported by the fork server of the render processes: warms the caches every render uses."""

from __future__ import annotations

from acuvoice.web.worker import warm_up

warm_up()
