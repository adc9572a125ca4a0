"""Half-face stimuli from face photos (HSAW paper, Huang & Yang 2024, §3.1.1).

``python -m stimuli build PHOTOS --labels LABELS.csv --out OUT`` aligns each
face (dlib 68 landmarks), splits it at the nose tip and writes two stimuli,
one per visible half, plus a PsychoPy-ready manifest.csv. Importing this
package is light: dlib, OpenCV and PIL load only when a build runs.
"""
