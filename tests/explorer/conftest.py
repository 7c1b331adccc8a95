"""Fixtures of the explorer's tests: the lecture's graphs, their pages, and browsers."""

from __future__ import annotations

from pathlib import Path

import pytest
from explorer_browsers import launch, unavailable
from explorer_graphs import lecture, relu_graph, wide_graph

import chainrule as cr


@pytest.fixture(scope="session")
def pages(tmp_path_factory):
    """The graphs and their pages, made once: {name: (graph, path)}."""
    folder = tmp_path_factory.mktemp("explorer-pages")
    made = {}
    for name, make in (
        ("sigmoid", lecture.sigmoid_neuron_primitive),
        ("branch", lecture.branch),
        ("relu", relu_graph),
        ("wide", wide_graph),
    ):
        graph = make()
        made[name] = (graph, Path(cr.explore(graph, folder / f"{name}.html", title=name)))
    return made


@pytest.fixture(scope="session", params=["chromium", "firefox"])
def browser(request):
    reason = unavailable(request.param)
    if reason is not None:
        pytest.skip(f"no {request.param} for the browser tests: {reason}")
    driver = launch(request.param)
    driver.name = request.param
    yield driver
    driver.close()
