"""PsychoPy lab session for the half-face experiment (HSAW paper, §3.1.2–3.1.3).

Run ``python -m experiment --help``. Pure logic (design, keys, frame maths,
monitor geometry, log files, participant IDs, simulated participant) lives in
modules that never import PsychoPy; only ``screen`` and ``responses`` do.
"""
