"""Processes of the read race (tests/store/test_read_race.py): readers reading every
entry of a catalog through the shared store (``persist_mode="default"``), a writer
re-persisting, refreshing and removing entries, and a gc loop, all on the store
that ``INTAKE_PERSIST_PATH`` names. Each runs a fixed number of iterations (seeded)
and prints one JSON line of counts.

Usage: ``python race_worker.py ROLE CATALOG GO_FILE ITERATIONS SEED``.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import traceback
import warnings


def same(got, want) -> bool:
    """Same rows and values (dtypes may differ between a CSV read and its copy)."""
    got = got.reset_index(drop=True)
    want = want.reset_index(drop=True)
    if list(got.columns) != list(want.columns) or len(got) != len(want):
        return False
    return all(got[c].astype(str).tolist() == want[c].astype(str).tolist() for c in got.columns)


def ttl_of(name: str):
    return 1 if int(name[1:]) % 2 else None  # half the entries expire after 1 s


def wait_for(go: str) -> None:
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.01)


def reader(cat, names, go, iterations, rng) -> dict:
    expected = {n: cat[n](persist_mode="never").read() for n in names}
    counts = {"reads": 0, "raised": 0, "wrong": 0, "recovered": 0, "errors": []}
    wait_for(go)
    for i in range(iterations):
        order = list(names)
        rng.shuffle(order)
        for name in order:
            try:
                src = cat[name]
                df = src.to_dask().compute() if (i + len(name)) % 3 == 0 else src.read()
                resolved = src._ip_resolve()
            except Exception as exc:  # counted, reported by the test
                counts["raised"] += 1
                counts["errors"].append(f"{name}: {type(exc).__name__}: {exc}\n"
                                        + traceback.format_exc(limit=8))
                continue
            counts["reads"] += 1
            if not same(df, expected[name]):
                counts["wrong"] += 1
                counts["errors"].append(f"{name}: wrong data")
            guard = getattr(resolved, "__dict__", {}).get("_ip_guard")
            if guard is not None and guard.replacement is not None:
                counts["recovered"] += 1
    return counts


def writer(cat, names, go, iterations, rng) -> dict:
    from intake_persist.store import get_store

    store = get_store()
    counts = {"persist": 0, "refresh": 0, "remove": 0, "errors": []}
    wait_for(go)
    for _ in range(iterations):
        name = rng.choice(names)
        op = rng.choice(["persist", "persist", "refresh", "remove"])
        original = cat[name](persist_mode="never")
        try:
            if op == "refresh" and original.token in store:
                store.refresh(original.token)
            elif op == "remove" and original.token in store:
                store.remove(original.token)
                store.persist(original, ttl=ttl_of(name))  # back, as a new copy
            else:
                op = "persist"
                store.persist(original, ttl=ttl_of(name), keep=rng.choice([1, 1, 2]))
            counts[op] += 1
        except Exception as exc:
            counts["errors"].append(f"{op} {name}: {type(exc).__name__}: {exc}")
    return counts


def collector(cat, names, go, iterations, rng) -> dict:
    """gc in a loop until the readers and the writer are done (at most
    ``iterations`` runs), then once more."""
    from intake_persist.store import get_store

    store = get_store()
    counts = {"gc": 0, "removed": 0, "retired": 0, "errors": []}
    wait_for(go)
    others = int(os.environ.get("RACE_PROCESSES", "4"))
    done = os.path.dirname(go)
    for i in range(iterations):
        last = len([n for n in os.listdir(done) if n.startswith("done-")]) >= others
        if last:
            i = 1  # a final forced run
        else:
            time.sleep(0.05)
        try:
            # every other run forced: copies go even under their readers
            report = store.gc(grace=0 if i % 2 else None)
        except Exception as exc:
            counts["errors"].append(f"gc: {type(exc).__name__}: {exc}")
            continue
        counts["gc"] += 1
        counts["removed"] += len(report["removed"])
        counts["retired"] += len(report["retired"])
        if last:
            break
    return counts


def main() -> None:
    role, catalog, go, iterations, seed = sys.argv[1:6]
    warnings.simplefilter("ignore")  # stale copies are handed back with a warning
    from intake_persist import open_catalog

    cat = open_catalog(catalog)
    names = sorted(cat)
    fn = {"reader": reader, "writer": writer, "gc": collector}[role]
    counts = fn(cat, names, go, int(iterations), random.Random(int(seed)))
    open(os.path.join(os.path.dirname(go), f"done-{role}-{seed}"), "w").close()
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
