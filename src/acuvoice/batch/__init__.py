"""Catalogs of renders (`acuvoice batch`): many sessions at once, in parallel, resumable."""

from __future__ import annotations

from acuvoice.batch.catalog import (
    BatchItem,
    Catalog,
    CatalogError,
    catalog_json_schema,
    load_catalog,
)
from acuvoice.batch.runner import (
    BatchReport,
    ItemResult,
    RenderStats,
    dask_executor,
    is_complete,
    local_executor,
    run_batch,
    sweep,
)
from acuvoice.procs import default_jobs

__all__ = [
    "BatchItem",
    "BatchReport",
    "Catalog",
    "CatalogError",
    "ItemResult",
    "RenderStats",
    "catalog_json_schema",
    "dask_executor",
    "default_jobs",
    "is_complete",
    "load_catalog",
    "local_executor",
    "run_batch",
    "sweep",
]
