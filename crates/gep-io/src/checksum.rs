//! SHA-256 of input files, for the run manifest.

use crate::error::IoError;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// The SHA-256 of a file's bytes as 64 lowercase hex digits, read in 1 MiB chunks.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("abc.txt");
/// std::fs::write(&p, b"abc").unwrap();
/// assert_eq!(
///     gep_io::sha256_file(&p).unwrap(),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_file(path: impl AsRef<Path>) -> Result<String, IoError> {
    let path = path.as_ref();
    let io = |source| IoError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
