"""pytest: the doctests of chainrule.distributed need the mpi extra; skip them without it."""

import importlib.util

import pytest


def pytest_runtest_setup(item):
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("chainrule.distributed needs the mpi extra: pip install 'chainrule[mpi]'")
