"""Output with provenance: atomic NetCDF, resumable region-by-region Zarr, never over an input."""
from varda.io.netcdf import to_netcdf
from varda.io.resume import zarr_status
from varda.io.zarr_store import to_zarr

__all__ = ["to_netcdf", "to_zarr", "zarr_status"]
