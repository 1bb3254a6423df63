"""Audio: buffers, cue and ambience synthesis, loudness, and the streaming mixer.

Conventions (pedalboard-style): audio is a ``numpy.float32`` array shaped
``(channels, samples)`` with a separate ``sample_rate``; full scale is 1.0. Timeline
milliseconds become sample indices only through :func:`acuvoice.units.ms_to_samples`.
int16 appears only at file edges.
"""
