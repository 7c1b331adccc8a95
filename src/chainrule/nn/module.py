"""Module: the base class of layers and models.

A module owns parameters, buffers and submodules, registered by attribute assignment as
in PyTorch (``self.fc1 = Linear(784, 256)``), kept in three ordered dicts (the order of
`parameters()` and `state_dict()`) and read back through `__getattr__`.

`named_parameters()` gives each parameter its dotted path as ``param.name``
(``"fc1.weight"``), which graph drawings and `gradcheck` messages show; a name is only
ever made more qualified (a user's ``"W1"`` becomes ``"net.W1"``, never the reverse).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from chainrule import gate as gate_module
from chainrule.engine import clear_grad
from chainrule.nn.parameter import Parameter, label_parameter
from chainrule.nn.state import (
    IncompatibleKeys,
    as_buffer,
    cast_floats,
    load_state,
    state_tensors,
)
from chainrule.tensor import Tensor

_REGISTRIES = ("_parameters", "_buffers", "_modules")


class Module:
    """Base class of every layer and model: subclass it, assign parts, write `forward`.

    >>> import chainrule as cr
    >>> class Affine(cr.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = cr.nn.Parameter([2.0])
    ...         self.b = cr.nn.Parameter([0.5])
    ...     def forward(self, x):
    ...         return x * self.w + self.b
    >>> m = Affine()
    >>> [name for name, _ in m.named_parameters()]
    ['w', 'b']
    >>> m(cr.tensor([1.0, 3.0]))
    Tensor([2.5, 6.5], dtype=float32, gate=Add)
    """

    training: bool

    def __init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", {})
        set_(self, "_buffers", {})
        set_(self, "_non_persistent", set())
        set_(self, "_modules", {})

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def __call__(self, *args, **kwargs):
        tracer = gate_module.TRACE
        if tracer is None:
            return self.forward(*args, **kwargs)
        # A Graph is tracing: tell it which module the gates belong to (for drawings).
        tracer.enter(self)
        try:
            return self.forward(*args, **kwargs)
        finally:
            tracer.exit()

    # ----- registration -----

    def _registry(self, name: str, what: str) -> dict:
        registry = self.__dict__.get(name)
        if registry is None:
            raise AttributeError(
                f"cannot assign {what} before {type(self).__name__}.__init__ called "
                "super().__init__()"
            )
        return registry

    def _discard(self, name: str, keep: str = "") -> None:
        # Drop `name` from everywhere but the `keep` registry, so that re-assigning a
        # registered name keeps its place in the order.
        self.__dict__.pop(name, None)
        for registry in _REGISTRIES:
            if registry != keep:
                self.__dict__[registry].pop(name, None)
        self._non_persistent.discard(name)

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Parameter):
            params = self._registry("_parameters", "parameters")
            self._discard(name, keep="_parameters")
            params[name] = value
        elif isinstance(value, Module):
            modules = self._registry("_modules", "submodules")
            self._discard(name, keep="_modules")
            modules[name] = value
        elif name in self.__dict__.get("_parameters", ()):
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} of "
                    f"{type(self).__name__} (a Parameter or None expected)"
                )
            self._parameters[name] = None
        elif name in self.__dict__.get("_modules", ()):
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as submodule {name!r} of "
                    f"{type(self).__name__} (a Module or None expected)"
                )
            self._modules[name] = None
        elif name in self.__dict__.get("_buffers", ()):
            self._buffers[name] = as_buffer(value, name)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: look in the registries.
        d = self.__dict__
        for registry in _REGISTRIES:
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in _REGISTRIES:
            if name in self.__dict__.get(registry, ()):
                self._discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        for registry in _REGISTRIES:
            names.update(self.__dict__.get(registry, ()))
        return sorted(names)

    def _check_name(self, name, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a str, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{kind} name must be non-empty and contain no '.', got {name!r}")
        registered = any(name in self.__dict__.get(r, ()) for r in _REGISTRIES)
        if not registered and hasattr(self, name):
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` (a Parameter, or None for an absent one such as ``bias=False``)."""
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} must be a Parameter or None, "
                f"got {type(param).__name__}"
            )
        params = self._registry("_parameters", "parameters")
        self._discard(name, keep="_parameters")
        params[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Register a tensor that is state but not a parameter (running statistics).

        Buffers are saved in `state_dict` (unless `persistent` is False) and cast by
        `to`, but never returned by `parameters()`. Arrays are wrapped in a Tensor.
        """
        self._check_name(name, "buffer")
        buffers = self._registry("_buffers", "buffers")
        value = as_buffer(tensor, name)
        self._discard(name, keep="_buffers")
        buffers[name] = value
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as the submodule `name` (what ``self.name = module`` does)."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"{type(self).__name__}: {name!r} must be a Module, got {type(module).__name__}"
            )
        modules = self._registry("_modules", "submodules")
        self._discard(name, keep="_modules")
        modules[name] = module

    register_module = add_module

    # ----- traversal (iterative; each module and parameter listed once) -----

    def named_modules(self, prefix: str = "", remove_duplicate: bool = True):
        """Yield ``(dotted_name, module)`` for this module and every descendant, pre-order."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in seen:
                    continue
                seen.add(id(module))
            yield name, module
            children = [
                (f"{name}.{key}" if name else key, child)
                for key, child in module._modules.items()
                if child is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, pre-order."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for the direct submodules."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct submodules."""
        for _, module in self.named_children():
            yield module

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)``: ``fc1.weight``, ``fc1.bias``, ``fc2.weight``...

        Order: a module's own parameters in assignment order, then its submodules'.
        A parameter shared by two modules is listed once (under its first name).
        Each parameter's ``name`` is set to its dotted path (see the module docstring).
        """
        modules = self.named_modules(prefix, remove_duplicate) if recurse else [(prefix, self)]
        seen = set()
        for module_name, module in modules:
            for key, param in module._parameters.items():
                if param is None:
                    continue
                if remove_duplicate:
                    if id(param) in seen:
                        continue
                    seen.add(id(param))
                path = f"{module_name}.{key}" if module_name else key
                label_parameter(param, path)
                yield path, param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters, in `named_parameters` order (pass them to an optimizer).

        >>> import chainrule as cr
        >>> net = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.ReLU(), cr.nn.Linear(3, 2))
        >>> [p.shape for p in net.parameters()]
        [(3, 4), (3,), (2, 3), (2,)]
        """
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        """Yield ``(dotted_name, buffer)`` for the buffers (running statistics...)."""
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        seen = set()
        for module_name, module in modules:
            for key, buffer in module._buffers.items():
                if buffer is None or id(buffer) in seen:
                    continue
                seen.add(id(buffer))
                yield (f"{module_name}.{key}" if module_name else key), buffer

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The buffers, in `named_buffers` order."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of scalars in the parameters (shared ones counted once).

        >>> import chainrule as cr
        >>> cr.nn.Linear(784, 256).num_parameters()
        200960
        """
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # ----- modes and gradients -----

    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout drops, BatchNorm uses batch statistics), recursively."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Set evaluation mode, recursively: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set `requires_grad` on every parameter (False freezes the module)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the parameters' gradients: ``.grad = None``, or zeros if not `set_to_none`.

        Zeros are written in place when the gradient is a plain writeable array (as the
        optimizers' ``zero_grad`` does), else a new zero gradient replaces it.
        """
        for param in self.parameters():
            clear_grad(param, set_to_none)

    def apply(self, fn: Callable[[Module], object]) -> Module:
        """Call ``fn(module)`` on every submodule, children first, then on self.

        The usual way to run a custom initialisation over a model.
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, dtype) -> Module:
        """Cast the floating parameters and buffers (and gradients) to `dtype`, in place.

        The Parameter objects stay the same (an optimizer holding them stays valid);
        their ``data`` is replaced. Integer buffers (``num_batches_tracked``) are kept.

        >>> import chainrule as cr
        >>> cr.nn.Linear(2, 2).to("float64").weight.dtype
        dtype('float64')
        """
        cast_floats(self, dtype)
        return self

    def double(self) -> Module:
        """``to("float64")``: for gradient checks."""
        return self.to(np.float64)

    def float(self) -> Module:
        """``to("float32")``."""
        return self.to(np.float32)

    # ----- state -----

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """An ordered dict of dotted names to copies of the parameters and buffers.

        >>> import chainrule as cr
        >>> net = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.BatchNorm1d(3))
        >>> list(net.state_dict())  # doctest: +NORMALIZE_WHITESPACE
        ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var',
         '1.num_batches_tracked']
        """
        return OrderedDict((key, t.data.copy()) for key, t in state_tensors(self).items())

    def load_state_dict(self, state_dict: Mapping, strict: bool = True) -> IncompatibleKeys:
        """Copy values from `state_dict` into the parameters and buffers, in place.

        Values (arrays, tensors or numbers) are copied into the existing arrays, which
        keep their dtype. With `strict` (the default) missing and unexpected keys are
        errors; a wrong shape or an impossible cast always is. On error nothing is
        loaded, and the message lists every problem. Returns the missing and
        unexpected keys.

        >>> import chainrule as cr
        >>> a, b = cr.nn.Linear(3, 2), cr.nn.Linear(3, 2)
        >>> b.load_state_dict(a.state_dict())
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        >>> bool((a.weight == b.weight).data.all())
        True
        """
        return load_state(self, state_dict, strict)

    # ----- repr -----

    def extra_repr(self) -> str:
        """The text inside this module's parentheses (its settings); override it."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [
            f"({key}): " + repr(module).replace("\n", "\n  ")
            for key, module in self._modules.items()
            if module is not None
        ]
        name = type(self).__name__
        if not children and len(lines) <= 1:
            return f"{name}({extra})"
        return f"{name}(\n  " + "\n  ".join(lines + children) + "\n)"
