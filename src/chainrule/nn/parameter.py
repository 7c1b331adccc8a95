"""Parameter: a Tensor that a Module learns."""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor


class Parameter(Tensor):
    """A floating-point leaf tensor that requires grad and that a `Module` registers.

    Assigning a Parameter to a module attribute adds it to ``module.parameters()``.
    The data is copied (as `chainrule.tensor` does): NumPy arrays keep their dtype,
    Python floats and lists become the default dtype (float32). Freeze one with
    ``p.requires_grad_(False)``.

        >>> import chainrule as cr
        >>> w = cr.nn.Parameter([[1.0, 2.0]])
        >>> w
        Parameter([[1., 2.]], dtype=float32)
        >>> w.requires_grad, w.is_leaf
        (True, True)
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, dtype=None) -> None:
        super().__init__(data, dtype=dtype)
        if self.data.dtype.kind != "f":
            raise TypeError(
                f"Parameter: parameters must be floating point, got dtype {self.data.dtype} "
                "(pass float data or dtype='float32')"
            )
        self.requires_grad = bool(requires_grad)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Parameter(")
        extras = [f"dtype={self.data.dtype}"]
        if not self.requires_grad:
            extras.append("requires_grad=False")
        if self.name:
            extras.append(f"name={self.name!r}")
        return f"Parameter({body}, {', '.join(extras)})"


def label_parameter(param: Parameter, path: str) -> None:
    """Give `param` its dotted path as name, unless that would make its name less qualified."""
    name = param.name
    if name != path and (name is None or path.endswith("." + name)):
        param.name = path
