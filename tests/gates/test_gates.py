"""Checks generated from the case table in `cases.py`, one set per case.

Forward against NumPy, first- and second-order gradient checks in float64, the CS231n
rel_error between numerical and analytic gradients, and float32 in, float32 out.
"""

import numpy as np
import pytest
from cases import CASES, recorded_gates

import chainrule as cr
from chainrule.gates import ALL_GATES

each_case = pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])


def leaves(case, dtype=np.float64) -> list[cr.Tensor]:
    return [cr.tensor(a, dtype=dtype, requires_grad=True) for a in case.arrays(dtype)]


def cotangent(shape, dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(7).standard_normal(shape).astype(dtype)


def gate_types(out: cr.Tensor) -> set[type]:
    """The classes of every gate behind `out` (an iterative walk)."""
    found, stack, seen = set(), [out.gate], set()
    while stack:
        gate = stack.pop()
        if gate is None or id(gate) in seen:
            continue
        seen.add(id(gate))
        found.add(type(gate))
        stack.extend(x for x in gate.inputs if isinstance(x, cr.Gate))
    return found


def test_every_gate_has_a_case():
    missing = [g.__name__ for g in ALL_GATES if g not in {c.gate for c in CASES}]
    assert not missing, f"gates without a test case in tests/gates/cases.py: {missing}"


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


@each_case
def test_gate_case_exercises_its_gate(case):
    out = case.fn(*leaves(case))
    assert case.gate in gate_types(out), f"{case.id} never applies {case.gate.__name__}"


@each_case
def test_gate_forward_matches_numpy(case):
    arrays = case.arrays()
    out = case.fn(*[cr.tensor(a) for a in arrays])
    expected = np.asarray(case.ref(*arrays))
    assert out.shape == expected.shape
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@each_case
def test_gate_backward_gradient_shapes(case):
    """The engine does not re-check built-in gates' gradient shapes, so this does."""
    out = case.fn(*leaves(case))
    for gate, out_shape, input_shapes in recorded_gates(out):
        grads = gate.backward(cotangent(out_shape))
        for shape, dx, need in zip(input_shapes, grads, gate.needs_input_grad, strict=True):
            if need and dx is not None:
                assert np.shape(dx) == shape, f"{type(gate).__name__}: {np.shape(dx)}"


@each_case
def test_gate_gradcheck(case):
    assert cr.gradcheck(case.fn, leaves(case), atol=case.atol, rtol=case.rtol)


@each_case
def test_gate_gradgradcheck(case):
    assert cr.gradgradcheck(case.fn, leaves(case), atol=case.atol, rtol=case.rtol)


@each_case
def test_gate_rel_error_below_tolerance(case):
    xs = leaves(case)
    out = case.fn(*xs)
    v = cotangent(out.shape)
    out.backward(v)
    for i, x in enumerate(xs):

        def f(t, i=i):
            return case.fn(*xs[:i], t, *xs[i + 1 :])

        # h = 1e-5 as in CS231n: truncation (h**2) and rounding (1e-16 / h) balance.
        numeric = cr.numerical_gradient(f, x, eps=1e-5, grad_output=v)
        error = cr.rel_error(x.grad, numeric)
        assert error < case.tol, f"input {i}: rel_error {error:.1e} >= {case.tol:.0e}"


@each_case
def test_gate_float32_in_float32_out(case):
    xs = leaves(case, np.float32)
    out = case.fn(*xs)
    assert out.dtype == np.dtype(case.out_dtype or np.float32)
    g = cotangent(out.shape, out.dtype)
    # The gate itself must hand back float32 gradients (the engine would otherwise pay
    # for a cast on every step), not only the leaves after the engine conformed them.
    gate = out.gate
    for x, dx in zip(gate.inputs, gate.backward(g)):
        dtype = x.out_dtype if isinstance(x, cr.Gate) else getattr(x, "dtype", None)
        if isinstance(x, (cr.Tensor, cr.Gate)) and dx is not None:
            assert dx.dtype == dtype, f"{type(gate).__name__} gave a {dx.dtype} gradient"
    out.backward(g)
    for x in xs:
        assert x.grad.dtype == np.float32
        assert x.grad.shape == x.shape
