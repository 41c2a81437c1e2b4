"""Helpers of the derived-source tests: CSV files, a catalog, and a module of
transforms written to a temporary directory (a fresh module name per test, so that editing a
function in one test never leaks into another)."""

from __future__ import annotations

import importlib
import itertools
import os
import sys
import textwrap

import pandas as pd

from intake_persist import open_catalog

_counter = itertools.count()

FUNCS = '''
def clean(df, factor=1):
    """Drop trips without a fare and scale the fares."""
    df = df.dropna(subset=["fare"])
    return df.assign(fare=df.fare * factor)


def count(data):
    return len(data)


def add_one(x):
    return x + 1


def names(df):
    return sorted(df["name"])


def tag(df, label):
    return df.assign(label=label)
'''

TRIPS = pd.DataFrame(
    {
        "city": ["a", "b", "a", "c", "b", "a"],
        "fare": [1.0, 2.0, None, 4.0, 5.0, 6.0],
        "name": ["Ann", "BOB", "Cy", "Di", "Ed", "Flo"],
    }
)
ZONES = pd.DataFrame({"city": ["a", "b", "c"], "zone": ["north", "south", "east"]})


class Lab:
    def __init__(self, root, request):
        self.root = root
        self.mod = f"_derived_fns_{os.getpid()}_{next(_counter)}"
        request.addfinalizer(lambda: sys.modules.pop(self.mod, None))
        self.write_module(FUNCS)
        self.write_csv("trips.csv", TRIPS)
        self.write_csv("zones.csv", ZONES)

    def write_module(self, text: str) -> None:
        """(Re)write the transforms module; the next import reads the new text."""
        (self.root / f"{self.mod}.py").write_text(textwrap.dedent(text))
        sys.modules.pop(self.mod, None)
        importlib.invalidate_caches()

    def write_csv(self, name: str, df: pd.DataFrame) -> str:
        path = self.root / name
        df.to_csv(path, index=False)
        return str(path)

    def catalog(self, text: str, name: str = "cat.yaml", **kwargs):
        path = self.root / name
        path.write_text(textwrap.dedent(text).replace("MOD", self.mod))
        return open_catalog(str(path), **kwargs)

