"""Step 1 with anchor graphs against the dense-affinity spectral solution (scipy eigsh) of the same objective.

    python packages/dcsh/benchmarks/bench_step1.py [--n 20000] [--big 100000] [--bits 32]

Data: two synthetic aligned modalities (64-d and 100-d, 50 shared clusters; OpenMoji has only ~2.6k
items). Both sides use the *same* fused anchor-graph affinity Ā (300 anchors per modality, s = 5):

* ``anchor``: this package's step 1 -- anchor graphs built from the features, then the full alternating
  solver (20 iterations), never forming an n × n matrix;
* ``dense``: Ā materialised as a dense float32 n × n matrix, its top eigenvectors by ``scipy.sparse.linalg.eigsh``
  (the spectral relaxation of ``max tr(Bᵀ JĀJ B)``), then a balanced sign -- what a dense spectral method does.

Each side runs in its own subprocess (imports done before the clock starts); time = wall seconds of the
work, split into building the anchor graphs (the same for both) and solving; memory = peak traced allocations
(tracemalloc, which sees NumPy/SciPy buffers) and the child's peak RSS. Printed: both, the ratios, and the
joint spectral term ``tr(BᵀJĀJB)/n`` each solution reaches. Then step 1 alone on ``--big`` items, which must
finish in under 2 minutes and 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc


def make_data(n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    c = rng.integers(0, 50, n)
    A = rng.standard_normal((50, 64))[c] + 0.8 * rng.standard_normal((n, 64))
    B = rng.standard_normal((50, 100))[c] + 0.8 * rng.standard_normal((n, 100))
    return A.astype(np.float32), B.astype(np.float32)


def child(kind: str, n: int, bits: int) -> dict:
    import numpy as np
    import scipy.sparse.linalg  # noqa: F401  (imports outside the timed region)
    import sklearn.cluster
    import sklearn.utils.extmath  # noqa: F401

    from dcsh import step1
    from dcsh.graph import fuse

    A, B = make_data(n)
    tracemalloc.start()
    t0 = time.perf_counter()
    feats = [step1.prepare_features(X, 128, 0) for X in (A, B)]
    graphs = step1.build_graphs(feats, 300, 5, seed=0)
    fused = fuse(graphs)
    t_graph = time.perf_counter() - t0
    if kind == "anchor":
        res = step1.solve(graphs, bits, alpha=1.0, beta=1.0, rho=1.0, iters=20, seed=0)
        codes = res.codes
        extra = {"iterations": len(res.history) - 1,
                 "objective_non_increasing": bool(np.all(np.diff([h["objective"] for h in res.history]) <= 1e-9))}
    else:
        from scipy.sparse.linalg import eigsh

        Zf = fused.factor.astype(np.float32)
        D = np.asarray(Zf @ Zf.T.toarray())  # the dense n × n affinity, float32
        w, V = eigsh(D, k=bits + 1, which="LA")
        V = V[:, np.argsort(w)[::-1]]
        V = V - V.mean(axis=0, keepdims=True)  # drop the constant direction (A1 = 1)
        P, _, _ = np.linalg.svd(V, full_matrices=False)
        codes = step1.balanced_sign(P[:, :bits])
        extra = {"dense_matrix_gb": D.nbytes / 1e9}
        del D
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    Bf = codes.astype(np.float64)
    joint = fused.quad(Bf - Bf.mean(0)) / n
    return {"kind": kind, "n": n, "bits": bits, "seconds": seconds, "graph_seconds": t_graph,
            "solve_seconds": seconds - t_graph,
            "peak_traced_gb": peak / 1e9, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
            "joint_term": joint, **extra}


def run_child(kind: str, n: int, bits: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    r = subprocess.run([sys.executable, __file__, "--child", kind, "--n", str(n), "--bits", str(bits)],
                       capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--big", type=int, default=100000)
    p.add_argument("--bits", type=int, default=32)
    p.add_argument("--child", choices=["anchor", "dense"], default=None)
    a = p.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.n, a.bits)))
        return
    print(f"step 1, {a.n} items, {a.bits} bits, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '1')}")
    ours = run_child("anchor", a.n, a.bits)
    dense = run_child("dense", a.n, a.bits)
    for r in (ours, dense):
        print(f"  {r['kind']:6}: {r['seconds']:7.2f} s (graphs {r['graph_seconds']:.2f} s + solve "
              f"{r['solve_seconds']:.2f} s)  peak traced {r['peak_traced_gb']:.3f} GB  "
              f"peak RSS {r['peak_rss_gb']:.3f} GB  joint term tr(BᵀJĀJB)/n = {r['joint_term']:.3f}")
    print(f"  ratio dense/anchor: time {dense['seconds'] / ours['seconds']:.1f}x "
          f"(solve only {dense['solve_seconds'] / ours['solve_seconds']:.1f}x), "
          f"traced memory {dense['peak_traced_gb'] / ours['peak_traced_gb']:.1f}x, "
          f"RSS {dense['peak_rss_gb'] / ours['peak_rss_gb']:.1f}x")
    if a.big:
        big = run_child("anchor", a.big, a.bits)
        ok = big["seconds"] < 120 and big["peak_rss_gb"] < 4
        print(f"step 1, {a.big} items: {big['seconds']:.1f} s, peak RSS {big['peak_rss_gb']:.2f} GB, "
              f"peak traced {big['peak_traced_gb']:.2f} GB, objective non-increasing: "
              f"{big['objective_non_increasing']} -> {'within' if ok else 'OVER'} the 2 min / 4 GB budget")


if __name__ == "__main__":
    main()
