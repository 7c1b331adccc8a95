"""Containers: Sequential (a chain of modules) and ModuleList (a registered list)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from chainrule.nn.module import Module


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Submodules are named ``"0"``, ``"1"``... (or by the keys of a single dict argument).

        >>> import chainrule as cr
        >>> net = cr.nn.Sequential(cr.nn.Linear(784, 256), cr.nn.ReLU(), cr.nn.Linear(256, 10))
        >>> net
        Sequential(
          (0): Linear(in_features=784, out_features=256, bias=True)
          (1): ReLU()
          (2): Linear(in_features=256, out_features=10, bias=True)
        )
        >>> net(cr.randn(32, 784)).shape
        (32, 10)
        >>> len(net), type(net[-1]).__name__, len(net[:2])
        (3, 'Linear', 2)
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int | slice):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(dict(items[index]))
        try:
            return items[index][1]
        except IndexError:
            raise IndexError(
                f"Sequential index {index} is out of range for {len(items)} modules"
            ) from None

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def append(self, module: Module) -> Sequential:
        """Add `module` at the end (named by its position); returns self."""
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain list's are not).

    >>> import chainrule as cr
    >>> layers = cr.nn.ModuleList([cr.nn.Linear(4, 4) for _ in range(3)])
    >>> len(layers), len(list(layers.parameters()))
    (3, 6)
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _key(self, index: int) -> str:
        n = len(self._modules)
        if not -n <= index < n:
            raise IndexError(f"ModuleList index {index} is out of range for {n} modules")
        return str(index % n)

    def __getitem__(self, index: int | slice):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[self._key(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(self._key(index), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def append(self, module: Module) -> ModuleList:
        """Add `module` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of `modules`; returns self."""
        for module in modules:
            self.append(module)
        return self
