"""Code shared by several of the toolkit's packages, with no dependency at import time (docs/architecture.md).

``halfface.schema``: what passes between the packages (emotions, sides, manifest and log columns, ``parse_bool``,
file names). ``halfface.cli``: one ``UserError`` and ``run_main`` (bad input: one line, exit 2).
``halfface.execution`` runs a pure task function over many task keys: in this process, in local worker
processes, or on a Dask cluster (analysis.power, analysis.calibration, recognition.table2).
"""
