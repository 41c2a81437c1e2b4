"""Several processes persist and look up through a faulty network, then the store is
checked straight against moto: no call failed, no entry was lost.

The :class:`faultproxy.FaultProxy` (fixture ``fault_proxy``: seed 14, faults on 15%
of the connections: requests and responses cut part-way, 503 SlowDown with
Retry-After, added latency) sits between the workers and the moto server. Every
worker's request opens its own connection (``force_close``), so faults land on
index reads, conditional index writes, meta files, markers, listings and data parts
alike. Counts are printed (``-s``) for the closing note.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from store_helpers import FrameSource, subprocess_env

from intake_persist.store.persist_store import PersistStore

pytestmark = [pytest.mark.s3, pytest.mark.slow]

WORKERS = 4
SOURCES = 5

WORKER = textwrap.dedent("""
    import json, sys, traceback
    from store_helpers import FrameSource
    from intake_persist.store import retry
    from intake_persist.store.persist_store import PersistStore

    url, endpoint, w, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = PersistStore(url, endpoint_url=endpoint, skip_instance_cache=True,
                         config_kwargs={"connector_args": {"force_close": True,
                                                           "keepalive_timeout": None}})
    calls, failed, errors, mine = 0, 0, [], []

    def call(what, fn):
        global calls, failed
        calls += 1
        try:
            return fn()
        except Exception as exc:
            failed += 1
            errors.append(f"{what}: {type(exc).__name__}: {exc}"[:500])
            traceback.print_exc()

    def contains(tok):
        if tok not in store:
            raise KeyError(f"{tok} is not in the store")

    for i in range(n):
        src = FrameSource(seed=w * 100 + i, nparts=2, rows=15)
        if call("persist", lambda: store.persist(src, ttl=3600)) is not None:
            mine.append(src.token)
        for tok in mine:  # lookups of everything this worker persisted so far
            call("contains", lambda: contains(tok))
            call("getitem", lambda: store[tok])
        call("len", lambda: len(store))
    if mine:
        call("refresh", lambda: store.refresh(mine[0]))
    print(json.dumps({"calls": calls, "failed": failed, "errors": errors, "tokens": mine,
                      "retry": dict(retry.STATS)}))
""")


def test_processes_persist_and_look_up_through_faults(fault_proxy, s3_bucket):
    url = f"{s3_bucket}/store"
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, url, fault_proxy.endpoint, str(w),
                          str(SOURCES)], env=subprocess_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for w in range(WORKERS)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=900)
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    calls = sum(r["calls"] for r in results)
    failed = sum(r["failed"] for r in results)
    retried = sum(r["retry"].get("retries", 0) for r in results)
    store_calls = sum(r["retry"].get("calls", 0) for r in results)

    # straight against moto, no proxy
    direct = PersistStore(url, skip_instance_cache=True)
    expected = {FrameSource(seed=w * 100 + i, nparts=2, rows=15).token: (w, i)
                for w in range(WORKERS) for i in range(SOURCES)}
    present = set(direct)
    lost = sorted(set(expected) - present)
    print(f"\nconcurrent fault test: {fault_proxy.summary()}; API calls {calls}, "
          f"failed {failed}; store requests {store_calls}, retried {retried}; "
          f"entries {len(present)}/{len(expected)}, lost {len(lost)}")
    assert fault_proxy.counts["faults"] >= 50, fault_proxy.summary()
    assert failed == 0, [e for r in results for e in r["errors"]]
    assert lost == []
    assert present == set(expected)
    for token, (w, i) in expected.items():
        pd.testing.assert_frame_equal(direct[token].read(),
                                      FrameSource(seed=w * 100 + i, nparts=2, rows=15).read())
    report = direct.gc(grace=0, dry_run=True)
    assert report["reindexed"] == [] and report["dropped"] == [], report
