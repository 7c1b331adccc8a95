"""Scaling: the MLP step's time against batch size and against width, for chainrule,
hand-written NumPy and PyTorch, plotted to PNG.

Each point is the MLP workload's step with other sizes (784-w-w-10 for width w); the
same seeded weights go to every library, and their losses must agree at every point.
"""

from __future__ import annotations

from pathlib import Path

from perfsuite import runner, spec

LIBRARIES = ("numpy", "chainrule", "torch")
SWEEPS = {
    # name: (x-axis label, full points, quick points); see sizes_and_batch
    "batch": ("batch size (784-256-256-10)", (16, 32, 64, 128, 256, 512, 1024, 4096), (8, 64)),
    "width": ("width w (784-w-w-10, batch 128)", (32, 64, 128, 256, 512, 1024, 2048), (16, 64)),
}
FULL = spec.Settings(repeats=20, warmup=2, rounds=2, budget_s=6)
QUICK = spec.Settings(repeats=2, warmup=1, rounds=1, budget_s=1)


def sizes_and_batch(sweep: str, point: int) -> tuple[tuple[int, ...], int]:
    if sweep == "batch":
        return spec.MLP_SIZES, point
    return (784, point, point, 10), spec.MLP_BATCH


def run(quick: bool, libraries: list[str], threads: int, workdir: Path) -> dict[str, dict]:
    """For each sweep: its points and each library's median step seconds at each."""
    results = {}
    for sweep, (label, full_points, quick_points) in SWEEPS.items():
        points = quick_points if quick else full_points
        cases = [spec.mlp_inputs(*sizes_and_batch(sweep, p)) for p in points]
        measured = runner.measure(
            f"scaling_{sweep}", cases, [lib for lib in LIBRARIES if lib in libraries],
            QUICK if quick else FULL, threads=threads, workdir=workdir,
            tolerance=(1e-4, 1e-6), maker="mlp",
        )  # fmt: skip
        results[sweep] = {
            "label": label,
            "points": list(points),
            "seconds": {lib: m.medians() for lib, m in measured.items()},
        }
    return results


def plot(results: dict[str, dict], directory: Path, threads: int) -> list[Path]:
    """One PNG per sweep: step time (log-log) and chainrule's ratios to the others."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for sweep, result in results.items():
        points, seconds = result["points"], result["seconds"]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
        for library, values in seconds.items():
            left.plot(points, [s * 1e3 for s in values], "o-", label=spec.LABELS[library])
        left.set(xscale="log", yscale="log", xlabel=result["label"], ylabel="ms per SGD step")
        left.legend()
        for other in ("numpy", "torch"):
            if other in seconds and "chainrule" in seconds:
                ratios = [c / o for c, o in zip(seconds["chainrule"], seconds[other])]
                right.plot(points, ratios, "o-", label=f"chainrule / {spec.LABELS[other]}")
        right.axhline(1.0, color="gray", linewidth=1)
        right.set(xscale="log", xlabel=result["label"], ylabel="time ratio")
        right.legend()
        fig.suptitle(f"MLP step time against {sweep} ({threads} BLAS/OpenMP thread(s))")
        path = directory / f"scaling_{sweep}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
