"""Monitor description and visual-angle maths (pure; PsychoPy gets a Monitor built from it).

The paper seats participants 60 cm from the screen (§3.1.2); sizes are given in
degrees of visual angle so a stimulus subtends the same angle on any lab screen.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_DISTANCE_CM = 60.0  # §3.1.2
DEFAULT_WIDTH_CM = 53.0  # a common 24" panel; a warning says when this default is used
# PsychoPy's 'deg' units use the small-angle form: 1 deg = distance * 0.017455 cm
# (monitorunittools.deg2cm). We use the same factor so our numbers match the window's.
CM_PER_DEG_PER_CM_DISTANCE = 0.017455


@dataclass(frozen=True)
class MonitorSpec:
    width_cm: float
    distance_cm: float
    resolution_px: tuple  # (width, height) of the whole screen in pixels
    name: str = "halfface-lab"
    source: str = "options"  # where the numbers came from: options, config file, Monitor Center, defaults
    gamma: tuple | None = None  # per gun (R, G, B); None: the operating system's gamma table

    def as_dict(self) -> dict:
        d = asdict(self)
        d["resolution_px"] = list(self.resolution_px)
        d["gamma"] = list(self.gamma) if self.gamma else None
        return d


def parse_size(text: str) -> tuple:
    """'1920x1080' -> (1920, 1080); ValueError naming the value otherwise."""
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ValueError(f"screen size {text!r} is not WIDTHxHEIGHT in pixels (e.g. 1920x1080)") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"screen size {text!r} must be positive")
    return (w, h)


def load_monitor_config(path) -> dict:
    """Read a small JSON file: {"name", "width_cm", "distance_cm", "resolution_px": [w, h], "gamma"}.

    For a calibrated lab screen prefer PsychoPy's Monitor Center (``--monitor NAME``).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: monitor config file not found") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object with width_cm, distance_cm, resolution_px")
    allowed = {"name", "width_cm", "distance_cm", "resolution_px", "gamma"}
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    return data


def parse_gamma(value):
    """A gamma (one number, or one per gun R, G, B) as a 3-tuple; ValueError naming the value otherwise."""
    if value is None:
        return None
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    try:
        values = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"gamma {value!r} must be a number or [R, G, B] numbers (e.g. 2.2)") from None
    if len(values) == 1:
        values *= 3
    if len(values) != 3 or not all(0.5 <= v <= 5 for v in values):
        raise ValueError(f"gamma {value!r} must be one number or three, each between 0.5 and 5 (e.g. 2.2)")
    return tuple(values)


def monitor_spec(config: dict | None = None, width_cm=None, distance_cm=None, screen_size=None,
                 detected_size=None, gamma=None, source=None) -> MonitorSpec:
    """Combine defaults < config file (or Monitor Center entry) < command-line options into a validated spec."""
    config = dict(config or {})
    used_defaults = []
    width = width_cm if width_cm is not None else config.get("width_cm")
    if width is None:
        width = DEFAULT_WIDTH_CM
        used_defaults.append("width_cm")
    distance = distance_cm if distance_cm is not None else config.get("distance_cm", DEFAULT_DISTANCE_CM)
    size = screen_size if screen_size is not None else config.get("resolution_px")
    detected = size is None
    if detected:
        size = detected_size
    if size is None:
        raise ValueError("screen resolution unknown: pass --screen-size WxH or resolution_px in the config")
    size = tuple(int(v) for v in size)
    for label, value in (("width_cm", width), ("distance_cm", distance)):
        if not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"monitor {label} must be a positive number, got {value!r}")
    if len(size) != 2 or min(size) <= 0:
        raise ValueError(f"monitor resolution must be [width, height] in pixels, got {list(size)!r}")
    if source is None:
        source = "options/config" if not used_defaults else "defaults for " + ", ".join(used_defaults)
    if detected:
        source += "; resolution detected"
    gamma = parse_gamma(gamma if gamma is not None else config.get("gamma"))
    return MonitorSpec(float(width), float(distance), size, str(config.get("name", "halfface-lab")), source, gamma)


def pix_per_cm(spec: MonitorSpec) -> float:
    return spec.resolution_px[0] / spec.width_cm


def deg_to_pix(deg: float, spec: MonitorSpec) -> float:
    """Pixels spanned by ``deg`` degrees, as PsychoPy's 'deg' units compute it."""
    return deg * spec.distance_cm * CM_PER_DEG_PER_CM_DISTANCE * pix_per_cm(spec)


def stimulus_size_deg(image_size_px: tuple, height_deg: float) -> tuple:
    """(width, height) in degrees keeping the image's aspect ratio."""
    w, h = image_size_px
    return (height_deg * w / h, height_deg)


def window_size_problem(actual_px, spec: MonitorSpec, fullscreen: bool, stim_height_deg: float = 10.0):
    """None if the screen has the pixels the monitor description says; else the problem and its fix.

    Degrees become pixels through ``resolution_px / width_cm``; on a screen
    with other pixel dimensions every size in degrees is off by their ratio
    (a 1920-px description on a 1280-px screen draws a 10 deg face 15 deg tall).
    ``actual_px`` is the full-screen window's size, or the screen's in a window.
    """
    actual = tuple(int(v) for v in actual_px)
    described = tuple(int(v) for v in spec.resolution_px)
    if actual == described:
        return None
    what = "the full-screen window is" if fullscreen else "the screen is"
    drawn = stim_height_deg * described[0] / actual[0]
    return (f"{what} {actual[0]}x{actual[1]} px but the monitor description says {described[0]}x{described[1]} px "
            f"({spec.source}), so a {stim_height_deg:g} deg face would be drawn {drawn:.1f} deg tall: pass "
            f"--screen-size {actual[0]}x{actual[1]} (or correct the resolution in Monitor Center / the config), "
            f"or set the display to {described[0]}x{described[1]}")


def require_display() -> None:
    """A one-line ValueError instead of pyglet's traceback when there is no screen (e.g. started over ssh).

    Lives here, not in ``screen``: importing PsychoPy's window module without a
    display already fails, so this must run before it.
    """
    import pyglet

    try:
        pyglet.canvas.get_display()
    except Exception as err:  # pyglet's NoSuchDisplayException lives in a per-platform module
        if type(err).__name__ != "NoSuchDisplayException":
            raise
        raise ValueError(f"no screen to open the window on ({err}): start it from the desktop of the lab computer, "
                         "not over ssh; for a demo without a screen use xvfb-run -a ... --allow-unlocked-display"
                         ) from None
