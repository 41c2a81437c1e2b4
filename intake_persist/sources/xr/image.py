"""Image files as an xarray DataArray: driver ``xarray_image`` (intake-xarray's
name). Reads with imageio (extra ``intake_persist[image]``) unless ``imread`` is
given. EXIF tags (intake-xarray's ``exif_tags``) are not supported."""

from __future__ import annotations

from typing import Any

from .base import XarraySource


class ImageSource(XarraySource):
    """Parameters (as intake-xarray's ``xarray_image``)
    ----------
    urlpath : str or list
        Path or fsspec URL of an image, a glob, a list, or a ``{pattern}`` path
        whose fields become coordinates along ``concat_dim``.
    chunks : int or dict, optional
        Dask chunks over ``y``, ``x`` (and ``channel``); by default one chunk an
        image.
    concat_dim : str
        The dimension several images are stacked along (default
        ``"concat_dim"``); a pattern field of that name gives its values.
    path_as_pattern : bool
    storage_options : dict
    imread : callable or dotted name, optional
        Reads a binary file object into a NumPy array (default: imageio's).
    preprocess : callable or dotted name, optional
        Applied to each image's array.
    coerce_shape : (height, width), optional
        Crop or zero-pad every image to this shape.

    The result is a DataArray with dims ``(y, x)`` or ``(y, x, channel)``,
    preceded by ``concat_dim`` for several files.
    """

    name = "xarray_image"

    def __init__(
        self,
        urlpath: Any,
        chunks: Any = None,
        concat_dim: str = "concat_dim",
        metadata: dict | None = None,
        path_as_pattern: bool = True,
        storage_options: dict | None = None,
        exif_tags: Any = None,
        **kwargs: Any,
    ):
        super().__init__(metadata=metadata)
        if exif_tags:
            raise ValueError(
                f"exif_tags={exif_tags!r}: the xarray_image driver does not read EXIF tags"
            )
        if not isinstance(concat_dim, str):
            raise ValueError(
                f"concat_dim must be one dimension name (a string), got {concat_dim!r}"
            )
        unknown = set(kwargs) - {"imread", "preprocess", "coerce_shape"}
        if unknown:
            raise TypeError(
                f"unknown argument(s) for xarray_image: {', '.join(sorted(unknown))}; "
                "it takes imread, preprocess and coerce_shape"
            )
        shape = kwargs.get("coerce_shape")
        if shape is not None and (
            len(shape) != 2 or not all(isinstance(n, int) and n > 0 for n in shape)
        ):
            raise ValueError(f"coerce_shape must be (height, width), got {shape!r}")
        self.urlpath = urlpath
        self.chunks = chunks
        self.concat_dim = concat_dim
        self.path_as_pattern = path_as_pattern
        self.storage_options = dict(storage_options or {})
        self.kwargs = kwargs

    def _files(self) -> tuple[list[str], list[dict], bool]:
        from ..._io import has_glob, is_local, strip_file_scheme
        from .._files import expand_paths, is_pattern, match_pattern, pattern_to_glob

        pattern = self.urlpath if (self.path_as_pattern and is_pattern(self.urlpath)) else None
        target = pattern_to_glob(pattern) if pattern else self.urlpath
        multi = isinstance(self.urlpath, (list, tuple)) or has_glob(str(target))
        urls = list(self.urlpath) if isinstance(self.urlpath, (list, tuple)) else [target]
        local = all(is_local(str(u)) for u in urls)
        if local:
            urls = [strip_file_scheme(str(u)) for u in urls]
        fs, paths = expand_paths(urls, self.storage_options)
        fields = match_pattern(fs._strip_protocol(pattern), paths) if pattern else [{}] * len(paths)
        if not local:
            paths = [fs.unstrip_protocol(p) for p in paths]
        return paths, fields, multi

    def _open(self, chunks: Any) -> Any:
        import dask
        import dask.array as da
        import numpy as np
        import xarray as xr

        paths, fields, multi = self._files()
        if not paths:
            raise FileNotFoundError(f"no files match {self.urlpath!r}")
        reader = _Reader(self.storage_options, self.kwargs)
        first = reader(paths[0])  # the shape and dtype of every image
        arrays = [da.from_array(first, chunks=first.shape)]
        for p in paths[1:]:
            arrays.append(da.from_delayed(dask.delayed(reader)(p), first.shape, first.dtype))
        dims = ("y", "x") + (("channel",) if first.ndim == 3 else ())
        coords: dict = {d: np.arange(n) for d, n in zip(dims, first.shape, strict=True)}
        if not multi:
            arr = xr.DataArray(arrays[0], dims=dims, coords=coords)
            if fields[0]:
                arr = arr.assign_coords(fields[0])
        else:
            dim = self.concat_dim
            coords[dim] = np.arange(len(paths))
            for name in fields[0]:
                values = [f[name] for f in fields]
                if name == dim:
                    coords[dim] = values
                else:
                    coords[name] = (dim, values)
            arr = xr.DataArray(da.stack(arrays), dims=(dim, *dims), coords=coords)
        arr.name = None  # not the dask array's name, which DataArray would take
        return arr.chunk(chunks) if chunks is not None else arr


class _Reader:
    """Picklable ``path -> ndarray`` (for dask): imread, then coerce and preprocess."""

    def __init__(self, storage_options: dict, kwargs: dict):
        self.storage_options = storage_options
        self.kwargs = kwargs

    def __call__(self, path: str) -> Any:
        import fsspec
        import numpy as np

        from .._files import import_object

        imread = import_object(self.kwargs.get("imread"))
        with fsspec.open(path, "rb", **self.storage_options) as f:
            if imread is not None:
                array = np.asarray(imread(f))
            else:
                try:
                    import imageio.v3 as iio
                except ImportError as exc:  # pragma: no cover - the image extra is in test
                    raise ImportError(
                        "the xarray_image driver reads with imageio: "
                        "pip install 'intake_persist[image]' (or pass imread=)"
                    ) from exc
                suffix = "." + path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else None
                # imageio types extension as str; None (its default) lets it guess
                array = np.asarray(iio.imread(f.read(), extension=suffix))  # type: ignore[arg-type]
        shape = self.kwargs.get("coerce_shape")
        if shape is not None:
            array = _coerce_shape(array, tuple(shape))
        preprocess = import_object(self.kwargs.get("preprocess"))
        if preprocess is not None:
            array = np.asarray(preprocess(array))
        return array


def _coerce_shape(array: Any, shape: tuple[int, int]) -> Any:
    """Crop or zero-pad the first two axes of ``array`` to ``shape``."""
    import numpy as np

    out = np.zeros(shape + array.shape[2:], dtype=array.dtype)
    h, w = min(shape[0], array.shape[0]), min(shape[1], array.shape[1])
    out[:h, :w] = array[:h, :w]
    return out
