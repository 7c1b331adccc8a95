"""Helpers for the nn tests: gradient-check a module end to end."""

import numpy as np

import chainrule as cr


def f64(values, requires_grad=True) -> cr.Tensor:
    return cr.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def module_gradcheck(module, x, *args, seed=0, atol=1e-5, rtol=1e-3):
    """`cr.gradcheck` of ``module(x, *args)`` in x and every parameter, in float64.

    The parameters are cast to float64 first. For the check, f swaps the tensors it
    is given in place of the module's parameters (a parameter shared by several
    modules is one input). `seed` reseeds chainrule's generator before each call, so
    that a random layer (Dropout) draws the same mask on every evaluation.
    """
    module.double()
    slots = [
        (owner, key, param)
        for owner in module.modules()
        for key, param in owner._parameters.items()
        if param is not None
    ]
    params = list({id(p): p for _, _, p in slots}.values())
    index = {id(p): i for i, p in enumerate(params)}

    def f(x, *values):
        for owner, key, param in slots:
            owner._parameters[key] = values[index[id(param)]]
        try:
            cr.seed(seed)
            return module(x, *args)
        finally:
            for owner, key, param in slots:
                owner._parameters[key] = param

    return cr.gradcheck(f, (x, *params), atol=atol, rtol=rtol)
