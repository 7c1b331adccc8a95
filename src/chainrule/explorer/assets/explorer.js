// The backprop explorer: steps through a graph's forward and backward, gate by gate.
// Everything it shows comes from the JSON that chainrule wrote into the page (see
// chainrule/explorer/pagedata.py); numbers are the engine's, written exactly, and shown
// rounded, with the exact number as each one's tooltip (title).
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("explorer-data").textContent);
  const svg = document.querySelector("#graph svg");
  const byId = (id) => document.getElementById(id);
  const last = data.steps.length - 1;
  const TABLE_MAX = 64; // elements shown as a table; more as a heatmap

  // ----- building elements (text goes in as text, never as HTML) -----

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(key, value);
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  // ----- numbers -----

  const parsed = new Map(); // tensor number -> {tokens, numbers}
  function tensor(ref) {
    const t = data.tensors[ref];
    if (!parsed.has(ref)) {
      const tokens = t.data === null ? null : t.data === "" ? [] : t.data.split(",");
      parsed.set(ref, { tokens, numbers: tokens && tokens.map(Number) });
    }
    return Object.assign({}, t, parsed.get(ref));
  }

  function fmt(x, dtype) {
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return "0"; // -0 too
    if (dtype && !dtype.startsWith("float")) return String(x);
    const a = Math.abs(x);
    if (a >= 1e-4 && a < 1e6) return String(Number(x.toPrecision(4)));
    return x.toExponential(2).replace(/\.?0+e/, "e");
  }

  const size = (shape) => shape.reduce((a, b) => a * b, 1);
  const shapeText = (shape) => (shape.length ? shape.join("×") : "scalar");

  // A tensor as a 2-D grid: rows x columns (leading axes merged).
  function grid(shape) {
    if (shape.length === 0) return [1, 1];
    if (shape.length === 1) return [1, shape[0]];
    const cols = shape[shape.length - 1];
    return [size(shape) / cols, cols];
  }

  // role: "value", "grad", "local" or "jacobian"; shape overrides the tensor's own.
  function view(ref, role, shape) {
    if (ref === null || ref === undefined) return el("span", { class: "muted" }, "none");
    const t = tensor(ref);
    shape = shape || t.shape;
    const cls = role === "grad" ? "grad" : role === "value" ? "value" : "local";
    const box = el("div", { class: `tensor ${cls}`, "data-role": role, "data-ref": ref });
    if (shape.length === 0 && t.tokens) {
      return el("span", { class: `num ${cls}`, title: t.tokens[0], "data-role": role, "data-ref": ref },
        fmt(t.numbers[0], t.dtype));
    }
    if (!t.tokens) {
      box.append(el("span", { class: "muted" },
        `${shapeText(shape)} ${t.dtype}: min ${fmt(t.min)}, max ${fmt(t.max)}, mean ${fmt(t.mean)} ` +
        "(too big to carry every number)"));
      return box;
    }
    box.append(el("span", { class: "caption" }, `${shapeText(shape)} ${t.dtype}`));
    box.append(size(shape) <= TABLE_MAX ? table(t, shape, cls) : heatmap(t, shape));
    return box;
  }

  function table(t, shape, cls) {
    const [rows, cols] = grid(shape);
    const body = el("tbody");
    for (let r = 0; r < rows; r++) {
      const tr = el("tr");
      for (let c = 0; c < cols; c++) {
        const k = r * cols + c;
        tr.append(el("td", { class: `num ${cls}`, title: t.tokens[k] }, fmt(t.numbers[k], t.dtype)));
      }
      body.append(tr);
    }
    return el("table", { class: "cells" }, body);
  }

  // A diverging, colour-blind-safe scale: purple below 0, white at 0, orange above.
  function colour(x, scale) {
    if (!Number.isFinite(x)) return [128, 128, 128];
    const s = scale ? Math.max(-1, Math.min(1, x / scale)) : 0;
    const end = s < 0 ? [84, 39, 136] : [179, 88, 6];
    const w = Math.abs(s);
    return end.map((v) => Math.round(255 + (v - 255) * w));
  }

  function heatmap(t, shape) {
    const [rows, cols] = grid(shape);
    const cell = Math.max(2, Math.min(14, Math.floor(360 / Math.max(rows, cols))));
    const canvas = el("canvas", { class: "heatmap", width: cols, height: rows });
    canvas.style.width = `${cols * cell}px`;
    canvas.style.height = `${rows * cell}px`;
    const scale = Math.max(Math.abs(t.min || 0), Math.abs(t.max || 0));
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(cols, rows);
    t.numbers.forEach((x, k) => {
      const [r, g, b] = colour(x, scale);
      image.data.set([r, g, b, 255], 4 * k);
    });
    ctx.putImageData(image, 0, 0);
    const readout = el("div", { class: "heat-readout num" },
      `purple < 0 < orange, |max| ${fmt(scale)}; point at a cell for its number`);
    canvas.addEventListener("mousemove", (event) => {
      const box = canvas.getBoundingClientRect();
      const c = Math.floor(((event.clientX - box.left) / box.width) * cols);
      const r = Math.floor(((event.clientY - box.top) / box.height) * rows);
      const k = r * cols + c;
      if (k >= 0 && k < t.tokens.length) readout.textContent = `[${r}, ${c}] = ${t.tokens[k]}`;
    });
    return el("div", {}, canvas, readout);
  }

  // ----- names -----

  const slotName = (s) => data.slots[s].label;
  function gateName(n) {
    const node = data.nodes[n];
    return `%${n} ${node.label}`;
  }
  const partSource = (part) => (part.node === null ? "the output (df/df)" : gateName(part.node));

  // ----- the picture: which labels appear at which step -----

  const groups = new Map(); // data-id -> <g>
  svg.querySelectorAll("g[data-id]").forEach((g) => groups.set(g.dataset.id, g));
  const appear = data.steps.map(() => []); // step -> [text element, edge group]
  for (const edge of data.edges) {
    const g = groups.get(edge.id);
    if (!g) continue;
    const texts = g.querySelectorAll("text");
    const steps = [edge.valueStep, edge.gradStep];
    texts.forEach((text, k) => {
      text.style.visibility = "hidden";
      if (k < 2 && steps[k] !== null && steps[k] !== undefined) appear[steps[k]].push([text, g]);
    });
  }

  function slotOfName(name) {
    const match = /^(n|s|b|out)(\d+)$/.exec(name);
    if (!match) return null;
    const k = Number(match[2]);
    if (match[1] === "n") return data.nodes[k].output;
    if (match[1] === "out") return data.outputs[k];
    return k;
  }

  // ----- the panel of each step -----

  function equation(...items) {
    return el("div", { class: "equation" }, items);
  }
  const op = (symbol) => el("span", { class: "op" }, symbol);

  function sumOf(parts) {
    const items = [];
    parts.forEach((part, k) => {
      if (k) items.push(op("+"));
      items.push(el("span", {}, view(part.grad, "grad"), el("span", { class: "muted" }, ` from ${partSource(part)}`)));
    });
    return items;
  }

  function startPanel() {
    const leaves = data.slots.map((s, k) => k).filter((k) => data.slots[k].kind !== "node" && data.slots[k].valueStep === 0);
    return [
      el("h2", {}, "Start: the inputs have their values"),
      el("p", {}, "Press → (or ▶) to run the forward pass one gate at a time: each gate's output value appears on its edges, in green."),
      el("table", { class: "summary" }, el("tbody", {}, leaves.map((k) =>
        el("tr", {}, el("th", {}, slotName(k)), el("td", { class: "muted" }, data.slots[k].kind), el("td", {}, view(data.slots[k].value, "value")))))),
    ];
  }

  function header(kind, n) {
    const node = data.nodes[n];
    return [
      el("h2", {}, `${kind} · gate %${n}: ${node.label}`, node.label !== node.op ? el("span", { class: "muted" }, ` (${node.op})`) : null),
      node.scope ? el("p", { class: "muted" }, `in module ${node.scope}`) : null,
    ];
  }

  function forwardPanel(n) {
    const node = data.nodes[n];
    const out = data.slots[node.output];
    return [
      ...header("Forward", n),
      node.math ? el("p", { class: "math" }, node.math) : null,
      el("h3", {}, "inputs"),
      node.inputs.map((s, k) => equation(el("span", { class: "math" }, `${["x", "y", "z"][k] || "input " + k} = ${slotName(s)} =`), view(data.slots[s].value, "value"))),
      node.keywords.map(([key, s]) => equation(el("span", { class: "math" }, `${key} = ${slotName(s)} =`), view(data.slots[s].value, "value"))),
      el("h3", {}, "output"),
      equation(el("span", { class: "math" }, `out = %${n} =`), view(out.value, "value", out.shape)),
    ];
  }

  function seedPanel() {
    const items = [
      el("h2", {}, "Backward starts at the output"),
      el("p", {}, "The gradient of f with respect to itself is df/df = 1. It flows back through every gate, in reverse order, in red."),
    ];
    for (const s of data.outputs) {
      const slot = data.slots[s];
      if (slot.grad === null) continue;
      if (slot.shape.length) items.push(el("p", { class: "muted" }, `f has shape ${shapeText(slot.shape)}: backward starts from a gradient of ones, the gradient of the sum of f's elements.`));
      items.push(equation(el("span", { class: "math" }, `df/df at ${slotName(s)} =`), view(slot.grad, "grad")));
    }
    return items;
  }

  const FORMS = {
    scalar: "upstream × local = downstream",
    gradient: "upstream × local = downstream (the local gradient has the shape of the input)",
    elementwise: "upstream ⊙ local = downstream, element by element",
    jacobian: "upstream · Jacobian = downstream (the upstream gradient flattened to a row)",
  };

  function jacobianNote(row, node, open) {
    const t = tensor(row.jacobian);
    const [m, n] = t.shape;
    const why = row.form === "elementwise"
      ? `It is diagonal: output element k depends on input element k only. Backward never forms this ${m}×${n} matrix: it multiplies the upstream gradient by the diagonal, element by element (${n} multiplications, not ${m * n}).`
      : `Backward never forms this matrix: it computes the product directly${node.backward ? " (" + node.backward + ")" : ""}, which for real tensors is far cheaper than building a matrix of (output size) × (input size) entries.`;
    return el("details", open ? { open: "" } : {},
      el("summary", {}, `the Jacobian this gate stands for: d out / d ${slotName(row.slot)}, ${m}×${n}`),
      view(row.jacobian, "jacobian"),
      el("p", { class: "muted" }, why));
  }

  function rowPanel(row, step) {
    const node = data.nodes[step.node];
    const slot = data.slots[row.slot];
    const title = el("h3", {}, `→ ${slotName(row.slot)}`, el("span", { class: "muted" }, ` (input ${row.position})`));
    const box = el("div", { class: "row", "data-slot": row.slot, "data-position": row.position });
    box.append(title);
    if (row.downstream === null) {
      const reason = slot.kind === "constant" ? "a constant: no gradient is needed"
        : "no gradient flows to it";
      box.append(el("p", { class: "muted" }, reason));
      return box;
    }
    const down = el("span", { "data-role": "downstream" }, view(row.downstream, "grad"));
    if (row.form === "formula") {
      const t = tensor(row.downstream);
      box.append(el("p", { class: "muted" }, `local gradient: by the formula above (the Jacobian would have ${size(data.slots[node.output].shape)}×${size(t.shape)} entries: too many to show)`));
      box.append(equation(el("span", { class: "math" }, "downstream ="), down));
    } else {
      box.append(el("p", { class: "muted" }, FORMS[row.form]));
      const local = row.form === "jacobian" ? view(row.jacobian, "jacobian") : view(row.local, "local");
      const symbol = row.form === "elementwise" ? "⊙" : row.form === "jacobian" ? "·" : "×";
      box.append(equation(view(step.upstream, "grad"), op(symbol), local, op("="), down));
      if (row.form === "elementwise") box.append(jacobianNote(row, node, false));
      if (row.form === "jacobian") box.append(el("p", { class: "muted" }, "Backward never forms the Jacobian: it computes the product directly" + (node.backward ? ` (${node.backward})` : "") + "."));
    }
    if (row.total) {
      box.append(el("p", {}, `${slotName(row.slot)} feeds several gates: its gradient is the sum of the gradients they sent back, now complete:`));
      box.append(equation(sumOf(row.total), op("="), el("span", { "data-role": "total" }, view(slot.grad, "grad"))));
    }
    return box;
  }

  function backwardPanel(step) {
    const node = data.nodes[step.node];
    const items = [...header("Backward", step.node)];
    if (node.pattern) items.push(el("p", { class: "pattern" }, node.pattern));
    if (node.backward) items.push(el("p", { class: "math" }, `Backward: ${node.backward}`));
    items.push(el("h3", {}, "upstream gradient g (of the output)"));
    if (step.upstreamParts.length) {
      items.push(el("p", {}, "The output feeds several places: the gradients they sent back add up."));
      items.push(equation(sumOf(step.upstreamParts), op("="), el("span", { "data-role": "upstream" }, view(step.upstream, "grad"))));
    } else {
      items.push(equation(el("span", { class: "math" }, "g ="), el("span", { "data-role": "upstream" }, view(step.upstream, "grad"))));
    }
    items.push(el("h3", {}, "downstream: one gradient per input"));
    step.rows.forEach((row) => items.push(rowPanel(row, step)));
    return items;
  }

  function donePanel() {
    const leaves = data.slots.map((s, k) => k).filter((k) => ["input", "parameter"].includes(data.slots[k].kind) && data.slots[k].grad !== null);
    return [
      el("h2", {}, "Backward is done"),
      el("p", {}, "Every input and parameter has its gradient: how much f changes per unit change of it."),
      el("table", { class: "summary", id: "gradients" }, el("tbody", {},
        el("tr", {}, el("th", {}, "name"), el("th", {}, "value"), el("th", {}, "gradient")),
        leaves.map((k) => el("tr", { "data-slot": k }, el("th", {}, slotName(k)), el("td", {}, view(data.slots[k].value, "value")), el("td", { "data-role": "gradient" }, view(data.slots[k].grad, "grad")))))),
    ];
  }

  function stepPanel(k) {
    const step = data.steps[k];
    if (step.kind === "start") return startPanel();
    if (step.kind === "forward") return forwardPanel(step.node);
    if (step.kind === "seed") return seedPanel();
    if (step.kind === "backward") return backwardPanel(step);
    return donePanel();
  }

  // ----- clicking a node: its full value and gradient -----

  let selected = null; // slot number
  function inspectPanel() {
    const panel = byId("inspect-panel");
    panel.replaceChildren();
    groups.forEach((g) => g.classList.remove("selected"));
    if (selected === null) return;
    const slot = data.slots[selected];
    const where = slot.node !== null ? `the output of gate ${gateName(slot.node)}` : `${slot.kind}`;
    const close = el("button", { class: "close", type: "button", title: "close", "aria-label": "close" }, "×");
    close.addEventListener("click", () => { selected = null; inspectPanel(); });
    const shown = (at) => at !== null && at !== undefined && current >= at;
    panel.append(
      close,
      el("h2", {}, `${slot.label}`, el("span", { class: "muted" }, ` · ${where} · ${shapeText(slot.shape)} ${slot.dtype}`)),
      el("h3", { class: "value" }, "value"),
      el("div", { "data-role": "inspect-value" }, shown(slot.valueStep) ? view(slot.value, "value", slot.shape) : el("p", { class: "muted" }, "not computed yet at this step")),
      el("h3", { class: "grad" }, "gradient"),
      el("div", { "data-role": "inspect-grad" }, slot.grad === null ? el("p", { class: "muted" }, "no gradient reaches it")
        : shown(slot.gradStep) ? view(slot.grad, "grad", slot.shape) : el("p", { class: "muted" }, "not known yet at this step")),
    );
    const mark = (name) => { const g = groups.get(name); if (g) g.classList.add("selected"); };
    mark(slot.node !== null ? `n${slot.node}` : `s${selected}`);
  }

  svg.addEventListener("click", (event) => {
    const g = event.target.closest("g[data-id]");
    if (!g) return;
    const name = g.dataset.id.includes("->") ? g.dataset.id.split("->")[0] : g.dataset.id;
    const s = slotOfName(name);
    if (s === null) return;
    selected = s;
    inspectPanel();
  });

  // ----- stepping -----

  let current = 0;
  let active = null;
  let fresh = [];

  function show(k, visible) {
    for (const [text] of appear[k]) text.style.visibility = visible ? "visible" : "hidden";
  }

  function go(target) {
    target = Math.max(0, Math.min(last, target));
    for (let k = current + 1; k <= target; k++) show(k, true);
    for (let k = current; k > target; k--) show(k, false);
    current = target;
    render();
  }

  function render() {
    const step = data.steps[current];
    if (active) active.classList.remove("active");
    fresh.forEach((g) => g.classList.remove("fresh"));
    active = step.node === null ? null : groups.get(`n${step.node}`) || null;
    if (active) active.classList.add("active");
    fresh = appear[current].map(([, g]) => g);
    fresh.forEach((g) => g.classList.add("fresh"));
    if (active) active.scrollIntoView({ block: "nearest", inline: "nearest" });
    byId("step-panel").replaceChildren(...stepPanel(current).flat().filter(Boolean));
    inspectPanel();
    const kind = step.kind === "forward" || step.kind === "backward" ? `${step.kind} ${gateName(step.node)}` : step.kind;
    byId("counter").textContent = `step ${current} / ${last}: ${kind}`;
    byId("progress").value = current / Math.max(1, last);
    document.body.dataset.step = current;
    byId("first").disabled = byId("prev").disabled = current === 0;
    byId("last").disabled = byId("next").disabled = current === last;
    if (current === last) pause();
  }

  // ----- play -----

  let timer = null;
  function play() {
    if (current === last) go(0);
    const rate = Number(byId("speed").value);
    timer = setInterval(() => go(current + 1), 1000 / rate);
    byId("play").textContent = "pause";
  }
  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    byId("play").textContent = "play";
  }
  const toggle = () => (timer === null ? play() : pause());
  byId("speed").addEventListener("change", () => { if (timer !== null) { pause(); play(); } });

  // ----- zoom and large fonts -----

  const box = svg.viewBox.baseVal;
  let zoom = 1;
  function setZoom(z) {
    zoom = Math.max(0.1, Math.min(6, z));
    svg.style.width = `${box.width * (4 / 3) * zoom}px`; // Graphviz's points, in CSS pixels
    svg.style.height = `${box.height * (4 / 3) * zoom}px`;
  }
  function fit() {
    const pane = byId("graph");
    const z = Math.min((pane.clientWidth - 20) / (box.width * 4 / 3), (pane.clientHeight - 20) / (box.height * 4 / 3));
    setZoom(Math.min(document.body.classList.contains("large") ? 2 : 1.3, z));
  }
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  byId("zoom-in").addEventListener("click", () => setZoom(zoom * 1.25));
  byId("zoom-out").addEventListener("click", () => setZoom(zoom / 1.25));
  byId("zoom-fit").addEventListener("click", fit);
  const large = byId("large");
  large.checked = document.body.classList.contains("large");
  large.addEventListener("change", () => {
    document.body.classList.toggle("large", large.checked);
    fit();
  });

  // ----- controls and keys -----

  byId("first").addEventListener("click", () => { pause(); go(0); });
  byId("prev").addEventListener("click", () => { pause(); go(current - 1); });
  byId("next").addEventListener("click", () => { pause(); go(current + 1); });
  byId("last").addEventListener("click", () => { pause(); go(last); });
  byId("play").addEventListener("click", toggle);
  // The speed list keeps its arrow keys, the large-fonts box its space bar.
  function ownKeys(event) {
    const target = event.target;
    if (!target.closest) return false;
    return Boolean(target.closest("select") || (event.key === " " && target.closest("input")));
  }
  const KEYS = {
    ArrowRight: () => { pause(); go(current + 1); },
    ArrowLeft: () => { pause(); go(current - 1); },
    Home: () => { pause(); go(0); },
    End: () => { pause(); go(last); },
    " ": toggle,
  };
  document.addEventListener("keydown", (event) => {
    const action = KEYS[event.key];
    if (!action || ownKeys(event) || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault(); // no scrolling, no click of a focused button
    action();
  });
  document.addEventListener("keyup", (event) => {
    // A focused button would be clicked when space comes up: keydown already toggled.
    if (event.key === " " && !ownKeys(event)) event.preventDefault();
  });

  // For the console and for tests: the step, and the same moves as the buttons.
  window.explorer = {
    get step() { return current; },
    steps: last + 1,
    go: (k) => { pause(); go(k); },
    next: () => go(current + 1),
    previous: () => go(current - 1),
    play,
    pause,
  };

  show(0, true);
  fit();
  render();
})();
