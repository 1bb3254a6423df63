"""acuvoice: compile acupressure routines into timed, spoken, downloadable audio sessions.

The pipeline, one stage per module::

    YAML --load_routine--> Routine --plan_session--> SessionPlan --voice_session-->
    Session (Timeline + clips) --render_session--> audio file

Front ends (the command line, and the web server and batch renders to come) do not call
these stages themselves: they build an :class:`acuvoice.app.RenderRequest` and call
:func:`acuvoice.app.render`, :func:`acuvoice.app.script` or :func:`acuvoice.app.validate`.
"""

from __future__ import annotations

__version__ = "0.1.0"
