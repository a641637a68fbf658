//! Transfer payloads, compressed with zstd and stored once per distinct
//! content.
//!
//! An import file points at its payload (`import_files.payload_id`). A
//! school whose data did not change sends the same bytes again; its new file
//! points at the payload already stored instead of adding another copy. A
//! payload is deleted with the last file that points at it, so deleting one
//! file's payload never takes away another's.
//!
//! Files written before this scheme keep a gzip payload in their own row
//! (`import_files.payload`); [`decode`] reads either kind by its magic bytes.

use crate::error::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::io::Read;

/// zstd's level: well ahead of zlib's default on Wonde's JSON, at several
/// hundred MB/s.
const LEVEL: i32 = 3;
/// The first bytes of a zstd frame and of a gzip stream.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A payload ready to store: hashed, and compressed only if no identical
/// payload was stored already (the check is made without the write lock, so
/// that compressing stays out of the file's transaction).
pub struct Prepared<'a> {
    raw: &'a [u8],
    sha256: String,
    compressed: Option<Vec<u8>>,
}

impl<'a> Prepared<'a> {
    /// Hashes `raw` (sha256: what the `UNIQUE` key holds, so two different
    /// transfers never share a payload) and compresses it unless `conn`
    /// already holds it.
    pub fn new(conn: &Connection, raw: &'a [u8]) -> Result<Prepared<'a>> {
        let sha256 = crate::digest::sha256_hex(raw);
        let compressed = match find(conn, &sha256)? {
            Some(_) => None,
            None => Some(compress(raw)?),
        };
        Ok(Prepared {
            raw,
            sha256,
            compressed,
        })
    }

    /// Stores the payload, or finds the identical one stored before; returns
    /// its id and stored size.
    pub fn store(&self, conn: &Connection) -> Result<(i64, i64)> {
        if let Some(found) = find(conn, &self.sha256)? {
            return Ok(found);
        }
        // Stored when prepared, but deleted since by Delete Files.
        let fresh;
        let data = match &self.compressed {
            Some(data) => data,
            None => {
                fresh = compress(self.raw)?;
                &fresh
            }
        };
        conn.prepare_cached("INSERT INTO payloads (sha256, data, bytes) VALUES (?, ?, ?)")?
            .execute(params![self.sha256, data, data.len() as i64])?;
        Ok((conn.last_insert_rowid(), data.len() as i64))
    }
}

/// The id and size of the payload with this hash, if stored.
fn find(conn: &Connection, sha256: &str) -> Result<Option<(i64, i64)>> {
    Ok(conn
        .prepare_cached("SELECT id, bytes FROM payloads WHERE sha256 = ?")?
        .query_row([sha256], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

fn compress(raw: &[u8]) -> Result<Vec<u8>> {
    zstd::bulk::compress(raw, LEVEL)
        .map_err(|e| Error::Io(format!("could not compress a transfer payload: {e}")))
}

/// A payload's uncompressed bytes.
pub fn read(conn: &Connection, id: i64) -> Result<Vec<u8>> {
    let data: Vec<u8> =
        conn.query_row("SELECT data FROM payloads WHERE id = ?", [id], |r| r.get(0))?;
    decode(&data)
}

/// Stored bytes uncompressed: zstd, or gzip as files written before
/// schema version 6 hold.
pub fn decode(stored: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    if stored.starts_with(&ZSTD_MAGIC) {
        zstd::stream::read::Decoder::new(stored)?.read_to_end(&mut out)?;
    } else if stored.starts_with(&GZIP_MAGIC) {
        flate2::read::GzDecoder::new(stored).read_to_end(&mut out)?;
    } else {
        return Err(Error::Database(
            "a stored payload is neither zstd nor gzip; the database may be damaged".into(),
        ));
    }
    Ok(out)
}

/// Deletes those of the payloads `ids` that no file points at any more.
pub fn release(conn: &Connection, ids: &[i64]) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM payloads WHERE id IN (SELECT value FROM json_each(?))
           AND NOT EXISTS (SELECT 1 FROM import_files WHERE payload_id = payloads.id)",
    )?
    .execute([super::id_list(ids)])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A real sandbox page of 200 students with every include.
    const PAGE: &[u8] = include_bytes!("../../../tests/fixtures/wonde-students-page.json");

    #[test]
    fn zstd_stores_a_page_smaller_than_zlib_at_its_default_level() {
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(PAGE).unwrap();
        let zlib = zlib.finish().unwrap().len();
        let zstd = compress(PAGE).unwrap();
        assert!(zstd.len() < zlib, "zstd {} bytes, zlib {zlib}", zstd.len());
        assert_eq!(decode(&zstd).unwrap(), PAGE);
    }

    #[test]
    fn refuses_bytes_it_did_not_write() {
        let err = decode(b"plain text").unwrap_err().to_string();
        assert!(err.contains("neither zstd nor gzip"), "{err}");
    }
}
