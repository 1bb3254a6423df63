"""acuvoice: compile acupressure routines into timed, spoken, downloadable audio sessions.

The pipeline, one stage per module::

    YAML file --load_routine--> Routine --compile_timeline--> Timeline --format_script--> text
"""

from __future__ import annotations

__version__ = "0.1.0"
