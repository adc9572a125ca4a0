"""PsychoPy's Monitor Center: a lab's saved screen calibrations (width, distance, resolution, gamma).

``--monitor NAME`` uses the calibration a lab saved in Monitor Center
(PsychoPy > Tools > Monitor Center, stored in ``~/.psychopy3/monitors``). The
other ways to describe a monitor (``--config``, ``--monitor-width-cm`` ...)
build a temporary ``Monitor`` whose name is never one of the saved ones: a
``Monitor`` created with a saved name silently loads that calibration.
"""

from psychopy import monitors

from experiment.monitor import MonitorSpec, monitor_spec

UNSAVED_NAME = "halfface-unsaved"


def saved_names() -> list:
    return sorted(monitors.getAllMonitors())


def _gamma(monitor):
    gamma = monitor.getGamma()
    if gamma is None:
        return None
    values = [float(g) for g in (gamma if hasattr(gamma, "__iter__") else [gamma] * 3)]
    return None if all(g == 1.0 for g in values) else values


def load_saved(name: str, distance_cm=None, screen_size=None) -> MonitorSpec:
    """The spec of a Monitor Center entry (its current calibration); options may override distance/resolution."""
    names = saved_names()
    if name not in names:
        raise ValueError(f"--monitor {name!r} is not in PsychoPy's Monitor Center (saved: "
                         f"{', '.join(names) or 'none'}): save it there (PsychoPy > Tools > Monitor Center) "
                         "or describe the screen with --monitor-width-cm/--screen-size")
    monitor = monitors.Monitor(name, autoLog=False)
    width, distance, size = monitor.getWidth(), monitor.getDistance(), monitor.getSizePix()
    missing = []
    if not width:
        missing.append("screen width (cm)")
    if not (distance or distance_cm):
        missing.append("distance (cm)")
    if not (size and all(size)) and not screen_size:
        missing.append("size (pixels)")
    if missing:
        raise ValueError(f"Monitor Center entry {name!r} has no {', '.join(missing)}: enter it in Monitor Center "
                         f"(calibration {monitor.currentCalibName})")
    config = {"name": name, "width_cm": float(width), "distance_cm": float(distance or distance_cm),
              "resolution_px": [int(v) for v in size] if size and all(size) else None, "gamma": _gamma(monitor)}
    overridden = [label for label, value in (("distance", distance_cm), ("resolution", screen_size)) if value]
    source = f"Monitor Center {name!r} (calibration {monitor.currentCalibName})" + (
        f"; {' and '.join(overridden)} from the options" if overridden else "")
    return monitor_spec(config, None, distance_cm, screen_size, source=source)


def refuse_name_clash(spec: MonitorSpec) -> None:
    """A --config monitor named like a saved calibration is ambiguous: say which option means which."""
    if spec.name in saved_names():
        raise ValueError(f"the monitor name {spec.name!r} (from --config) is also a Monitor Center entry, whose "
                         f"calibration PsychoPy would load silently: use --monitor {spec.name} to use that "
                         "calibration, or rename the monitor in the config file")


def unsaved_monitor(spec: MonitorSpec):
    """A temporary Monitor with the spec's geometry (no gamma), under a name no saved calibration has.

    The window always gets this one; gamma (from the spec, i.e. from Monitor
    Center or the options) is set on the open window, where a display that
    cannot take it is reported instead of crashing inside the Window.
    """
    name, k = UNSAVED_NAME, 1
    while name in saved_names():
        k += 1
        name = f"{UNSAVED_NAME}-{k}"
    monitor = monitors.Monitor(name, width=spec.width_cm, distance=spec.distance_cm, autoLog=False)
    monitor.setSizePix(list(spec.resolution_px))
    return monitor
