"""Code shared by several of the toolkit's packages, with no dependency at import time.

``halfface.execution`` runs a pure task function over many task keys: in this process, in local worker
processes, or on a Dask cluster (analysis.power, analysis.calibration, recognition.table2).
"""
