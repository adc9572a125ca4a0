"""Monitor description and visual-angle maths (pure; PsychoPy gets a Monitor built from it).

The paper seats participants 60 cm from the screen (§3.1.2); sizes are given in
degrees of visual angle so a stimulus subtends the same angle on any lab screen.
"""

import json
import math
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
    source: str = "options"  # where the numbers came from: options, config file, defaults

    def as_dict(self) -> dict:
        d = asdict(self)
        d["resolution_px"] = list(self.resolution_px)
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
    """Read a small JSON file: {"name", "width_cm", "distance_cm", "resolution_px": [w, h]}."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: monitor config file not found") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object with width_cm, distance_cm, resolution_px")
    allowed = {"name", "width_cm", "distance_cm", "resolution_px"}
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    return data


def monitor_spec(config: dict | None = None, width_cm=None, distance_cm=None, screen_size=None,
                 detected_size=None) -> MonitorSpec:
    """Combine defaults < config file < command-line options into a validated spec."""
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
    source = "options/config" if not used_defaults else "defaults for " + ", ".join(used_defaults)
    if detected:
        source += "; resolution detected"
    return MonitorSpec(float(width), float(distance), size, str(config.get("name", "halfface-lab")), source)


def pix_per_cm(spec: MonitorSpec) -> float:
    return spec.resolution_px[0] / spec.width_cm


def deg_to_pix(deg: float, spec: MonitorSpec) -> float:
    """Pixels spanned by ``deg`` degrees, as PsychoPy's 'deg' units compute it."""
    return deg * spec.distance_cm * CM_PER_DEG_PER_CM_DISTANCE * pix_per_cm(spec)


def exact_deg_to_pix(deg: float, spec: MonitorSpec) -> float:
    """Exact visual angle of a centred extent (2·d·tan(θ/2)); differs <1% below 20 deg."""
    return 2 * spec.distance_cm * math.tan(math.radians(deg) / 2) * pix_per_cm(spec)


def stimulus_size_deg(image_size_px: tuple, height_deg: float) -> tuple:
    """(width, height) in degrees keeping the image's aspect ratio."""
    w, h = image_size_px
    return (height_deg * w / h, height_deg)
