"""Statistics and HTML report for half-face expression experiments.

The paper's tests (Huang & Yang 2024, §3.1.4) are reproduced trial by trial and
placed next to participant-level tests and mixed-effects models, because 140
trials from one person are not independent observations.

Entry points::

    python -m analysis.simulate --participants 18 --out logs/
    python -m analysis.report logs/ --out report/
"""
