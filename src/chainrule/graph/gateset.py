"""The gate instances of a replayed program, made once and lent to one run at a time."""

from __future__ import annotations

import weakref

_new = object.__new__


class GateSet:
    """The gate instances of a program's nodes, made once and lent to one run at a time.

    A gate instance is where a forward keeps what its backward needs, so each run needs
    its own; but making a thousand instances (and dropping them after the backward) is
    about a tenth of a replay's time on small tensors. Successive steps (forward, backward,
    forward...) never need two sets at once, so the program keeps one and lends it: a
    forward takes it when no other run holds it, and a run hands it back when its
    backward frees it (as `Run.free`) or when the run is dropped. A forward that finds
    it held (the previous step kept with ``retain_graph``, or not backpropagated yet and
    still alive) makes fresh gates instead, as eager mode does every time.

    Reuse is safe because a built-in gate's forward sets everything its backward reads
    (tests/graph checks every gate case replayed twice, bitwise against eager mode). A
    user's gate (``checked``: defined outside `chainrule.gates`) gets a fresh instance
    on every run all the same: nothing promises that its forward does. On hand-back the
    gates' ``saved`` is reset, so that what they kept does not outlive the run, as in
    eager mode; other attributes (shapes, a mask) are replaced by the next forward.
    Like the graph's record of its last step, this assumes one forward at a time: a
    Graph is not for several threads at once.
    """

    __slots__ = ("kinds", "gates", "fresh", "reused", "holder")

    def __init__(self, nodes) -> None:
        shared: dict[tuple, tuple] = {}  # one needs_input_grad tuple per value: less memory
        self.kinds = tuple(
            (node.gate, shared.setdefault(node.needs_input_grad, node.needs_input_grad))
            for node in nodes
        )
        self.gates = self.make()
        self.fresh = tuple(k for k, (cls, _) in enumerate(self.kinds) if cls.checked)
        # Grouped by class: resetting them is then a store the interpreter specialises.
        reused = [g for g, (cls, _) in zip(self.gates, self.kinds) if not cls.checked]
        self.reused = tuple(sorted(reused, key=lambda gate: id(type(gate))))
        self.holder = None  # a weak reference to the run that holds `gates`

    def make(self) -> list:
        """A new gate instance per node, as `Gate.apply` makes them."""
        gates = []
        for cls, needs in self.kinds:
            gate = _new(cls)
            gate.saved = ()
            gate.needs_input_grad = needs
            gates.append(gate)
        return gates

    def lend(self, run) -> list:
        """The gates for `run`: the program's own list when no other run holds it."""
        if self.holder is not None:
            return self.make()
        self.holder = weakref.ref(run, self._dropped)
        gates = self.gates
        for k in self.fresh:
            cls, needs = self.kinds[k]
            gates[k] = gate = _new(cls)
            gate.saved = ()
            gate.needs_input_grad = needs
        return gates

    def give_back(self, run) -> None:
        """`run` no longer needs its gates: if they are the program's, they are free."""
        if self.holder is not None and self.holder() is run:
            self._release()

    def _dropped(self, ref) -> None:
        if self.holder is ref:  # the run holding the gates was garbage-collected
            self._release()

    def _release(self) -> None:
        self.holder = None
        for gate in self.reused:
            gate.saved = ()  # as `Gate.apply` starts a gate: nothing saved
        for k in self.fresh:
            self.gates[k] = None  # a user's gate is made anew for each run
