//! `b2b:plugin/files`: listing import files and deleting their payloads.

use super::{bounded, page_size, HostContext};
use crate::plugins::capability::Capability;
use crate::storage::files::Status;
use crate::world::b2b::plugin::files::{FileInfo, FileStatus, Host};
use crate::world::CallError;

impl Host for HostContext {
    fn list(&mut self, after: i64, limit: u32) -> Result<Vec<FileInfo>, CallError> {
        page_size(limit)?;
        let conn = self.require(Capability::FilesRead, "files.list")?;
        Ok(self
            .staged
            .files_page(conn, after, limit, self.started_at)?
            .into_iter()
            .map(|f| FileInfo {
                id: f.id,
                school_id: f.school_id,
                received_at: f.received_at,
                status: match f.status {
                    Status::Queued => FileStatus::Queued,
                    Status::Processing => FileStatus::Processing,
                    Status::Completed => FileStatus::Completed,
                    Status::Failed => FileStatus::Failed,
                },
                payload_bytes: f.payload_bytes as u64,
                deleted: f.deleted_at.is_some(),
            })
            .collect())
    }

    fn delete_payloads(&mut self, ids: Vec<i64>) -> Result<u32, CallError> {
        bounded("ids", ids.len())?;
        let (conn, staged) =
            self.require_write(Capability::FilesDelete, "files.delete-payloads")?;
        Ok(staged.delete_payloads(conn, &ids)? as u32)
    }
}
