"""PsychoPy lab session for the half-face experiment (HSAW paper, §3.1.2–3.1.3).

Run ``python -m experiment --help`` (or open ``run_session.py`` in PsychoPy
Runner). Pure logic (design, conditions checks, keys, texts, frame maths and
the display assessment, monitor geometry, log files, participant IDs, the
simulated participant) lives in modules that never import PsychoPy; only
``screen``, ``responses``, ``monitor_center``, ``dialog`` and
``check_display`` do, and ``run`` imports them once the input is checked.
"""
