"""What the explorer's panel says about a gate: its formula and the lecture's pattern.

The formula is read from the gate class's own docstring, whose first paragraph states
the math and a ``Backward:`` clause (a house rule for every gate, and what a user's
gate may follow too), so the derivative shown is the one written next to the code. The
patterns are the lecture's words for the gates it names.
"""

from __future__ import annotations

#: The lecture's gradient patterns, by op.
PATTERNS = {
    "Add": "add distributes: every input gets the upstream gradient unchanged",
    "Subtract": "subtract distributes, with a sign: x gets the upstream gradient, y minus it",
    "Multiply": "mul switches: each input gets the upstream gradient times the other input",
    "Divide": "divide: x gets the upstream gradient divided by y",
    "Maximum": "max routes: the larger input gets the whole upstream gradient, the other 0",
    "Minimum": "min routes: the smaller input gets the whole upstream gradient, the other 0",
    "Max": "max routes: the largest element gets the whole upstream gradient",
    "Min": "min routes: the smallest element gets the whole upstream gradient",
    "ReLU": "relu is a max gate with 0: it routes the gradient where x > 0 and blocks it elsewhere",
    "Sigmoid": "a compound gate: its local gradient (1 - s) s replaces four primitive gates",
    "Sum": "sum distributes: every element gets the upstream gradient",
    "MatMul": "matmul: each input gets the upstream gradient multiplied by the other input, "
    "transposed",
    "Linear": "linear: x gets g w, w gets g^T x, the bias the sum of g",
}


def formula(gate) -> tuple[str, str]:
    """The math and the backward rule of a gate class, from its docstring.

    >>> from chainrule.gates.arith import Multiply
    >>> formula(Multiply)
    ('out = x * y', 'dx = g * y, dy = g * x (the mul gate switches).')

    A class without such a docstring gives empty strings.
    """
    doc = gate.__dict__.get("__doc__") or ""  # not inherited: Gate's own says nothing of it
    first = " ".join(doc.strip().split("\n\n")[0].split())
    head, _, backward = first.partition("Backward:")
    math = head.split("Shapes:")[0].strip().rstrip(".")
    return math, backward.strip()
