"""The half-face session online: a static jsPsych site and a small server that saves its data.

``python -m experiment web`` (:mod:`build`) writes the site from a stimuli
manifest with the lab's own design, texts and log columns; ``procedure.js`` is the
procedure; ``python -m experiment serve`` (:mod:`server`, :mod:`store`,
:mod:`rows`) saves each posted trial as the lab session would. Nothing here
imports PsychoPy. See docs/online.md.
"""
