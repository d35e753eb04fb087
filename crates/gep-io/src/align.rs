//! A categorical raster put on another raster's grid by GDAL's warper, nearest neighbour:
//! the second year of `gep change` when its grid is not the first year's.
//!
//! The warp is a VRT in `/vsimem/` (`gdalwarp -of VRT -t_srs <target CRS> -te <target extent>
//! -tr <target cell size> -r near -ovr NONE -dstnodata <nodata>`): nothing is resampled up front,
//! GDAL warps the blocks a window needs when it is read, and every reader opens its own
//! dataset on the VRT. The VRT is unlinked when the [`AlignedRaster`] is dropped.
//!
//! # Exactness
//!
//! Nearest neighbour gives each target cell the class of the source cell under its centre:
//! it never invents a class (as averaging would), but the second raster's class areas are no
//! longer its own: each target cell counts whole for one source class, so along every class
//! boundary area moves between classes by up to a cell, and when the cell sizes differ the
//! areas change by the ratio of the grids. The tally of the warped raster is exact *on the
//! target grid*; the transitions then include misregistration between the grids as well as
//! land change. Aligning the rasters once, with a method chosen for the data, is better for
//! an official comparison; the warp is a convenience.

use crate::error::IoError;
use crate::raster::{GdalRaster, RasterOptions};
use gdal::Dataset;
use gep_core::RasterSource;
use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A raster warped onto another's grid; the `/vsimem/` VRT lives as long as this value.
#[derive(Debug)]
pub struct AlignedRaster {
    raster: GdalRaster,
    vrt: String,
    source: PathBuf,
    /// The `gdalwarp` command equivalent to the warp (for the manifest and messages).
    pub command: String,
}

impl AlignedRaster {
    /// The warped raster, on the target grid.
    pub fn raster(&self) -> &GdalRaster {
        &self.raster
    }

    /// The file that was warped.
    pub fn source(&self) -> &Path {
        &self.source
    }
}

impl Drop for AlignedRaster {
    fn drop(&mut self) {
        if let Ok(c) = CString::new(self.vrt.as_str()) {
            // SAFETY: a valid NUL-terminated path; unlinking a /vsimem/ file that readers
            // still hold is safe in GDAL (the data lives until the last handle closes).
            unsafe {
                gdal_sys::VSIUnlink(c.as_ptr());
            }
        }
    }
}

fn last_gdal_message() -> String {
    // SAFETY: CPLGetLastErrorMsg returns a valid NUL-terminated thread-local string.
    let msg = unsafe { std::ffi::CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg()) };
    let m = msg.to_string_lossy().trim().to_string();
    if m.is_empty() {
        "GDAL gave no reason".into()
    } else {
        m
    }
}

/// Warps the categorical raster at `path` (band, nodata and CRS overrides in `options`) onto
/// `target`'s grid, nearest neighbour, and opens the result.
///
/// The output's nodata is `options.nodata`, else the band's own nodata value; cells of the
/// target grid beyond the source get it.
///
/// # Errors
/// The file cannot be opened, has no nodata value (the warp would fill the target cells
/// beyond it with 0, a class), or GDAL cannot warp it (e.g. no transformation between the
/// CRSs).
pub fn warp_onto(
    path: &Path,
    options: RasterOptions,
    target: &GdalRaster,
) -> Result<AlignedRaster, IoError> {
    // Open as is first: band, type and CRS checks with their own messages.
    let src = GdalRaster::open(path, options.clone())?;
    let nodata = src.nodata().ok_or_else(|| IoError::BadOption {
        path: path.to_path_buf(),
        option: "nodata".into(),
        reason: "the raster declares no nodata value, and warping it onto another grid fills the cells beyond it with one; set `nodata` in [landcover] (e.g. 255 for a Byte raster), or align the raster first with `gdalwarp -r near -dstnodata <value>`".into(),
    })?;
    let g = target.grid();
    let mut args: Vec<String> = vec![
        "-of".into(),
        "VRT".into(),
        "-r".into(),
        "near".into(),
        "-ovr".into(),
        "NONE".into(),
        "-t_srs".into(),
        target.crs_definition().to_string(),
        "-te".into(),
        format!("{:?}", g.left),
        format!("{:?}", g.bottom()),
        format!("{:?}", g.right()),
        format!("{:?}", g.top),
        // The resolution, not the size: GDAL then keeps the cell size bit for bit (from
        // -ts it would divide the extent, off in the last bits).
        "-tr".into(),
        format!("{:?}", g.cell_width),
        format!("{:?}", g.cell_height),
        "-srcnodata".into(),
        format!("{nodata:?}"),
        "-dstnodata".into(),
        format!("{nodata:?}"),
    ];
    if let Some(c) = &options.crs {
        args.extend(["-s_srs".into(), c.clone()]);
    }
    let command = format!(
        "gdalwarp {} {} aligned.tif",
        args.iter()
            .skip(2)
            .map(|a| if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            })
            .collect::<Vec<_>>()
            .join(" "),
        path.display()
    );
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let vrt = format!(
        "/vsimem/gep-align/{}-{}.vrt",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let fail = |message: String| IoError::Gdal {
        path: path.to_path_buf(),
        action: format!("warp onto the grid of {}", target.path().display()),
        message,
    };
    let ds = Dataset::open(path).map_err(|e| IoError::gdal(path, "open raster", e))?;
    let owned = args
        .iter()
        .map(|a| {
            CString::new(a.as_str()).map_err(|_| fail(format!("argument {a:?} holds a NUL byte")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut ptrs: Vec<*mut c_char> = owned
        .iter()
        .map(|c| c.as_ptr() as *mut c_char)
        .chain(std::iter::once(std::ptr::null_mut()))
        .collect();
    let dest = CString::new(vrt.as_str()).map_err(|e| fail(e.to_string()))?;
    // SAFETY: `ptrs` is a NULL-terminated argv of strings owned by `owned`, alive for the
    // call; the options are freed below; `srcs` holds one live dataset handle; the returned
    // handle is closed here, which writes the VRT.
    unsafe {
        let opts = gdal_sys::GDALWarpAppOptionsNew(ptrs.as_mut_ptr(), std::ptr::null_mut());
        if opts.is_null() {
            return Err(fail(format!(
                "bad gdalwarp options: {}",
                last_gdal_message()
            )));
        }
        let mut srcs = [ds.c_dataset()];
        let mut usage = 0;
        let out = gdal_sys::GDALWarp(
            dest.as_ptr(),
            std::ptr::null_mut(),
            1,
            srcs.as_mut_ptr(),
            opts,
            &mut usage,
        );
        gdal_sys::GDALWarpAppOptionsFree(opts);
        if out.is_null() {
            return Err(fail(last_gdal_message()));
        }
        gdal_sys::GDALClose(out);
    }
    drop(ds);
    let raster = GdalRaster::open(
        &vrt,
        RasterOptions {
            nodata: Some(nodata),
            crs: None,
            ..options
        },
    )?;
    let w = raster.grid();
    if (w.left, w.top, w.cell_width, w.cell_height, w.rows, w.cols)
        != (g.left, g.top, g.cell_width, g.cell_height, g.rows, g.cols)
    {
        return Err(fail(format!(
            "the warped grid ({} x {} cells of {:?} x {:?} from ({:?}, {:?})) is not the target's ({} x {} of {:?} x {:?} from ({:?}, {:?}))",
            w.cols, w.rows, w.cell_width, w.cell_height, w.left, w.top,
            g.cols, g.rows, g.cell_width, g.cell_height, g.left, g.top
        )));
    }
    Ok(AlignedRaster {
        raster,
        vrt,
        source: path.to_path_buf(),
        command,
    })
}
