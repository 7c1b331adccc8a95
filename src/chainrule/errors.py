"""The exceptions chainrule raises. Each message names the gate or function at fault."""


class ShapeError(ValueError):
    """Operands whose shapes do not fit the operation (matmul, broadcasting, reshape...)."""


class GateError(RuntimeError):
    """A gate broke the contract: wrong number, shape or type of gradients."""


class GraphFreedError(RuntimeError):
    """Backward went through a gate whose saved values a previous backward freed."""


class HigherOrderError(RuntimeError):
    """A gate cannot be differentiated twice (``create_graph=True``)."""


class AnomalyError(RuntimeError):
    """Under `detect_anomaly`, a gate produced NaN or inf."""


class GradcheckError(RuntimeError):
    """`gradcheck` found an analytic gradient that disagrees with the numerical one."""


class TraceError(RuntimeError):
    """A `Graph` cannot capture a function faithfully, or cannot replay it as asked."""


class DrawError(RuntimeError):
    """A graph cannot be drawn as asked (no renderer installed, too large to lay out)."""
