"""Search latency and recall@10 of the approximate (IVF) collection index versus exact search.

    python benchmarks/bench_search.py                          # N = 1e4, 1e5, 1e6; D = 512
    python benchmarks/bench_search.py --sizes 10000 --queries 50 --data clustered

Vectors are unit-length float32, D = 512 (CLIP ViT-B/32 width).  ``--data random``:
uniform on the sphere (the worst case for IVF: no cluster structure, nearest neighbours
barely nearer than anyone else); ``--data clustered``: a mixture of 1,000 Gaussian blobs,
closer to how real CLIP embeddings of a GIF collection bunch up.  Queries are drawn from
the same distribution, not from the database.  The approximate index is the one
``gifqa index`` builds above its flat threshold (gifqa.retrieval.index: IVF-Flat,
nlist = 4 sqrt(N), k-means on 64 points per cell, 10 iterations), searched at several
``nprobe``.  Latency = median wall time of one single-query search (what ``gifqa search``
does), with one FAISS thread by default (--threads; on a shared 2-core machine OpenMP
threads make single queries slower, not faster).  Recall@10 = |approx top 10 ∩ exact
top 10| / 10, averaged over the queries.  Prints a markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_report.py
from _report import print_table, save_json  # noqa: E402

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gifqa.retrieval import faiss_backend  # noqa: E402
from gifqa.retrieval.encoders import l2_normalize  # noqa: E402
from gifqa.retrieval.index import DEFAULT_NPROBE, ivf_nlist  # noqa: E402


def make_data(kind: str, n: int, d: int, rng) -> np.ndarray:
    if kind == "random":
        out = np.empty((n, d), np.float32)
        for s in range(0, n, 100_000):  # chunks keep peak memory at the output array
            out[s : s + 100_000] = rng.standard_normal((min(100_000, n - s), d), dtype=np.float32)
        return l2_normalize(out)
    centers = l2_normalize(rng.standard_normal((1000, d), dtype=np.float32))
    out = np.empty((n, d), np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        out[s : s + m] = centers[rng.integers(0, 1000, m)] + 0.6 / np.sqrt(d) * rng.standard_normal((m, d), dtype=np.float32)
    return l2_normalize(out)


def single_query_latency_ms(index, queries: np.ndarray, k: int) -> float:
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q[None, :], k)
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--nprobe", default=f"8,32,{DEFAULT_NPROBE},256")
    ap.add_argument("--data", choices=["random", "clustered"], default="random")
    ap.add_argument("--threads", type=int, default=1, help="FAISS threads while searching (one query at a time)")
    ap.add_argument("--build-threads", type=int, default=2, help="FAISS threads while training and adding")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/results/search.json")
    args = ap.parse_args()

    faiss = faiss_backend.import_faiss()
    k = 10
    rows = []
    for n in [int(float(s)) for s in args.sizes.split(",")]:
        rng = np.random.default_rng(args.seed)
        xb = make_data(args.data, n, args.dim, rng)
        xq = make_data(args.data, args.queries, args.dim, rng)
        faiss.omp_set_num_threads(args.build_threads)
        flat = faiss_backend.flat_ip(args.dim)
        flat.add(xb)
        _, exact = flat.search(xq, k)
        t0 = time.perf_counter()
        nlist = ivf_nlist(n)
        ivf = faiss_backend.ivf_ip(xb, nlist, 1, seed=args.seed)
        ivf.add(xb)
        build_s = time.perf_counter() - t0
        faiss.omp_set_num_threads(args.threads)
        flat_ms = single_query_latency_ms(flat, xq, k)
        for nprobe in [int(p) for p in args.nprobe.split(",")]:
            if nprobe > nlist:
                continue
            ivf.nprobe = nprobe
            _, approx = ivf.search(xq, k)
            recall = float(np.mean([len(set(a) & set(e)) / k for a, e in zip(approx, exact)]))
            row = dict(n=n, dim=args.dim, data=args.data, nlist=nlist, nprobe=nprobe, recall_at_10=round(recall, 4),
                       ivf_ms=round(single_query_latency_ms(ivf, xq, k), 3), flat_ms=round(flat_ms, 3),
                       ivf_build_s=round(build_s, 1))
            row["speedup"] = round(row["flat_ms"] / row["ivf_ms"], 1)
            rows.append(row)
            print(json.dumps(row), flush=True)
        del xb, flat, ivf

    machine = f"{platform.machine()}, {os.cpu_count()} CPUs visible, {args.threads} FAISS search thread(s), faiss {faiss.__version__}"
    print(f"\n{args.data} unit vectors, D={args.dim}, {args.queries} queries, {machine}\n")
    print_table(["N", "nlist", "nprobe", "recall@10", "IVF ms/query", "exact ms/query", "speed-up", "IVF build s"],
                [[f"{r['n']:,}", r["nlist"], r["nprobe"], f"{r['recall_at_10']:.3f}", f"{r['ivf_ms']:.2f}",
                  f"{r['flat_ms']:.2f}", f"{r['speedup']}x", r["ivf_build_s"]] for r in rows])
    save_json(args.out, {"machine": machine, "args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
