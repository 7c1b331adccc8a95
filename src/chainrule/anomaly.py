"""What anomaly mode (`chainrule.detect_anomaly`) checks and records.

Under anomaly mode a gate remembers where the user applied it (`user_frames`), and every
forward output and backward gradient is checked for NaN and inf (`check_finite`), by
the engine and by `cr.Graph` replay alike, so that the error names the first gate that
produced one and the line of the user's code that made it.
"""

from __future__ import annotations

import os

import numpy as np

from chainrule.errors import AnomalyError
from chainrule.tensor import Tensor

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_frames(keep: int = 3) -> list[str]:
    """The innermost stack frames outside chainrule: where the user applied a gate."""
    import traceback  # only anomaly mode needs it; kept off the import path

    frames = [f for f in traceback.extract_stack() if not f.filename.startswith(_PACKAGE_DIR)]
    return traceback.format_list(frames[-keep:])


def check_finite(gate, array, phase: str) -> None:
    """Raise AnomalyError if a float `array` holds NaN or inf (detect_anomaly mode)."""
    data = array.data if isinstance(array, Tensor) else np.asarray(array)
    if data.dtype.kind != "f" or np.isfinite(data).all():
        return
    kind = "NaN" if np.isnan(data).any() else "inf"
    where = "".join(gate._created_at) if gate._created_at else "  (not recorded)\n"
    raise AnomalyError(
        f"{type(gate).__name__} {phase} produced {kind} (shape {data.shape}). "
        f"The gate was created at:\n{where}"
    )
