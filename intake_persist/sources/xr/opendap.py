"""Datasets served over OPeNDAP: driver ``opendap`` (intake-xarray's name)."""

from __future__ import annotations

import os
from typing import Any

from .base import XarraySource, with_combine_defaults

AUTH_METHODS = (None, "esgf", "urs", "generic_http")


class OpenDapSource(XarraySource):
    """Parameters (as intake-xarray's ``opendap``)
    ----------
    urlpath : str or list
        OPeNDAP URL(s); a list, or a URL with ``*``, opens several with
        ``open_mfdataset``.
    chunks : int, dict, "auto" or None
        Dask chunks, as ``xarray.open_dataset``.
    auth : None, "esgf", "urs" or "generic_http"
        How to log in; the user name and password come from the environment
        variables ``DAP_USER`` and ``DAP_PASSWORD``.
    engine : "pydap" (default) or "netcdf4"
        The xarray backend; ``auth`` needs ``pydap``.
    xarray_kwargs : dict
        Passed to ``xarray.open_dataset``.
    """

    name = "opendap"

    def __init__(
        self,
        urlpath: Any,
        chunks: Any = None,
        auth: str | None = None,
        engine: str = "pydap",
        xarray_kwargs: dict | None = None,
        metadata: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(metadata=metadata)
        if auth not in AUTH_METHODS:
            raise ValueError(
                f"auth must be one of None, 'esgf', 'urs', 'generic_http'; got {auth!r}"
            )
        if engine not in ("pydap", "netcdf4"):
            raise ValueError(f"engine for opendap must be 'pydap' or 'netcdf4', got {engine!r}")
        if auth is not None and engine != "pydap":
            raise ValueError(f"auth={auth!r} needs engine='pydap' (got engine={engine!r})")
        self.urlpath = urlpath
        self.chunks = chunks
        self.auth = auth
        self.engine = engine
        self.xarray_kwargs = dict(xarray_kwargs or {})
        self.kwargs = kwargs

    def _session(self) -> Any:
        if self.auth is None:
            return None
        user, password = os.environ.get("DAP_USER"), os.environ.get("DAP_PASSWORD")
        if not user or not password:
            raise ValueError(
                f"auth={self.auth!r} needs the environment variables DAP_USER and DAP_PASSWORD"
            )
        url = self.urlpath[0] if isinstance(self.urlpath, (list, tuple)) else self.urlpath
        if self.auth == "esgf":
            from pydap.cas.esgf import setup_session

            return setup_session(user, password, check_url=url)
        if self.auth == "urs":
            from pydap.cas.urs import setup_session

            return setup_session(user, password, check_url=url)
        import requests

        session = requests.Session()
        session.auth = (user, password)
        return session

    def _open(self, chunks: Any) -> Any:
        import xarray as xr

        kw = {**self.xarray_kwargs, **self.kwargs, "engine": self.engine}
        session = self._session()
        if session is not None:
            kw["session"] = session
        if isinstance(self.urlpath, (list, tuple)) or "*" in self.urlpath:
            return xr.open_mfdataset(self.urlpath, chunks=chunks if chunks is not None else {},
                                     **with_combine_defaults(kw))
        return xr.open_dataset(self.urlpath, chunks=chunks, **kw)
