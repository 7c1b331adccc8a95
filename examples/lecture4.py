"""The worked examples of CS231n lecture 4 (backpropagation), reproduced with chainrule.

Run it from the repository root::

    python examples/lecture4.py

Each section builds a small computational graph, runs forward and backward, and prints
the values on the edges next to the numbers on the lecture's slides.
"""

import numpy as np

import chainrule as cr


def section(title: str) -> None:
    print(f"\n=== {title} ===")


def fmt(array, decimals: int = 3) -> str:
    """An array printed as the slides print it: [[0.088, 0.176], [0.104, 0.208]]."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 0:
        return f"{round(float(array), decimals):g}"
    return "[" + ", ".join(fmt(row, decimals) for row in array) + "]"


def leaves(**values: float) -> list[cr.Tensor]:
    """One scalar tensor per keyword, each a leaf that requires grad."""
    return [cr.tensor(v, requires_grad=True, name=name) for name, v in values.items()]


def simple_example() -> None:
    section("1. f(x, y, z) = (x + y) * z at x = -2, y = 5, z = -4")
    x, y, z = leaves(x=-2.0, y=5.0, z=-4.0)
    q = x + y
    q.retain_grad()
    f = q * z
    f.backward()
    print(f"forward:   q = x + y = {q.item():g}    f = q * z = {f.item():g}")
    print(f"backward:  df/df = 1    df/dq = z = {q.grad.item():g}    df/dz = q = {z.grad.item():g}")
    print(f"chain rule: df/dx = df/dq * dq/dx = {q.grad.item():g} * 1 = {x.grad.item():g}")
    print(f"            df/dy = df/dq * dq/dy = {q.grad.item():g} * 1 = {y.grad.item():g}")
    print("patterns:  the add gate distributes its gradient unchanged to both inputs;")
    print("           the mul gate switches: each input gets the upstream times the other input.")
    dx, dy, dz = (t.grad.item() for t in (x, y, z))
    print(f"gradients: dx = {dx:.2f}  dy = {dy:.2f}  dz = {dz:.2f}")


def sigmoid_neuron() -> None:
    section("2. Sigmoid neuron f(w, x) = 1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))")
    w0, x0, w1, x1, w2 = leaves(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)

    print("(a) from primitive gates: *, +, negation, exp, +1, 1/x")
    a = w0 * x0
    b = w1 * x1
    c = a + b
    dot = c + w2
    e = -dot
    ex = cr.exp(e)
    p = ex + 1
    f = 1 / p
    edges = {"w0*x0": a, "w1*x1": b, "+": c, "+ w2": dot, "negate": e, "exp": ex, "+1": p, "1/x": f}
    for t in edges.values():
        t.retain_grad()
    f.backward()
    print(f"    {'gate':<8} {'forward':>8} {'gradient':>9}")
    for label, t in edges.items():
        print(f"    {label:<8} {t.item():8.2f} {t.grad.item():9.2f}")
    primitive = [t.grad.item() for t in (w0, x0, w1, x1, w2)]
    print("    " + "  ".join(f"d{t.name} = {t.grad.item():.2f}" for t in (w0, x0, w1, x1, w2)))

    print("(b) with the compound sigmoid gate, sigma(x) = 1 / (1 + exp(-x))")
    for t in (w0, x0, w1, x1, w2):
        t.grad = None
    dot = w0 * x0 + w1 * x1 + w2
    dot.retain_grad()
    s = cr.sigmoid(dot)
    s.backward()
    local = (1 - s.item()) * s.item()
    print(
        f"    s = sigma({dot.item():g}) = {s.item():.2f};  local gradient (1 - s) * s = "
        f"{1 - s.item():.2f} * {s.item():.2f} = {local:.2f}"
    )
    print(f"    one gate, one backward step: d(dot) = {dot.grad.item():.2f}")
    print("    " + "  ".join(f"d{t.name} = {t.grad.item():.2f}" for t in (w0, x0, w1, x1, w2)))
    compound = [t.grad.item() for t in (w0, x0, w1, x1, w2)]
    print(f"    same gradients as (a): {np.allclose(primitive, compound)}")


def vectorized_example() -> None:
    section("3. f(x, W) = ||W x||^2, vectorized")
    W = cr.tensor([[0.1, 0.5], [-0.3, 0.8]], requires_grad=True, name="W")
    x = cr.tensor([0.2, 0.4], requires_grad=True, name="x")
    q = W @ x
    f = (q * q).sum()
    f.backward()
    Wn, xn, qn = W.numpy(), x.numpy(), q.numpy()
    dW_formula = 2 * np.outer(qn, xn)
    dx_formula = 2 * Wn.T @ qn
    print(f"q = W x = {fmt(qn)}    f = ||q||^2 = {f.item():.3f}")
    print(f"dW (engine)  = {fmt(W.grad)}")
    print(f"dW = 2 q x^T = {fmt(dW_formula)}")
    print(f"dx (engine)  = {fmt(x.grad)}")
    print(f"dx = 2 W^T q = {fmt(dx_formula)}")
    print("a gradient has the shape of its variable: dW is 2x2 like W, dx has 2 entries like x")
    agree = np.allclose(W.grad.numpy(), dW_formula) and np.allclose(x.grad.numpy(), dx_formula)
    print(f"engine matches the vectorized formulas: {agree}")


def relu_jacobian() -> None:
    section("4. Jacobian of the elementwise max(0, x)")
    x = cr.tensor([1.0, -2.0, 3.0, -0.5])
    J = cr.jacobian(cr.relu)(x).numpy()
    print(f"x = {x.tolist()}")
    print("J = d max(0, x) / dx =")
    for row in J:
        print("    [" + " ".join(f"{v:4.1f}" for v in row) + "]")
    diagonal = np.array_equal(J, np.diag(np.diag(J)))
    print(f"diagonal: {diagonal}  (output i depends on input i only);  diag = 1 where x > 0")
    print("so backward never forms J: it computes dx = g * (x > 0), one pass over the data.")
    n = 4096
    print(
        f"(for the lecture's {n}-d input J would be {n}x{n} = {n * n:,} entries, "
        f"{n * n * 4 / 2**20:.0f} MiB in float32)"
    )


class MultiplyGate(cr.Gate):
    """out = x * y.   Backward: dx = dz * y, dy = dz * x (the mul gate switches)."""

    def forward(self, x, y):
        self.save(x, y)  # what backward needs, nothing more
        return x * y

    def backward(self, dz):
        x, y = self.saved
        # The upstream gradient dz times the local gradient; not z, the output.
        return dz * y, dz * x


def custom_gate() -> None:
    section("5. The lecture's MultiplyGate as a chainrule Gate")
    x = cr.tensor([1.0, -2.0, 3.0], dtype="float64", requires_grad=True)
    y = cr.tensor([0.5, 4.0, -1.0], dtype="float64", requires_grad=True)
    z = MultiplyGate.apply(x, y)
    z.sum().backward()
    print(f"z = x * y = {z.tolist()}")
    print(f"dx = y = {x.grad.tolist()}    dy = x = {y.grad.tolist()}")
    ok = cr.gradcheck(MultiplyGate.apply, (x, y))
    numeric = cr.numerical_gradient(lambda t: MultiplyGate.apply(t, y).sum(), x)
    print(
        f"gradcheck(MultiplyGate): {ok}    rel_error(dx, numerical) = "
        f"{cr.rel_error(x.grad, numeric):.1e}"
    )


def main() -> None:
    print(f"chainrule {cr.__version__}: CS231n lecture 4, backpropagation, worked examples")
    simple_example()
    sigmoid_neuron()
    vectorized_example()
    relu_jacobian()
    custom_gate()


if __name__ == "__main__":
    main()
