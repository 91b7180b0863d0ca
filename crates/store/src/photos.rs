//! Photos of the work (R-PHOTO): taken up from the camera's bytes, kept as blobs, signed into
//! the permit, and found again when the same picture is attached to another permit.
//!
//! A photo is written to disk (its picture and thumbnail, each a blob named by its SHA-256,
//! with their upload entries) before the event that names it is signed, so a photo the UI shows
//! is already safe from a power cut; a photo whose event is then refused leaves only a blob
//! nobody names.

use crate::error::{Result, StoreError};
use crate::Store;
use chrono::{DateTime, Utc};
use ptw_core::api::{Action, PermitLink, PermitView, PhotoReuse};
use ptw_core::event::{PhotoPhase, PhotoRef};
use ptw_core::{PermitId, PersonId};
use rusqlite::params;

/// The MIME type of a handwritten signature's image.
pub const SIGNATURE_MIME: &str = "image/png";

impl Store {
    /// Keep a handwritten signature drawn on the pad (`png`), checked to be a PNG of a
    /// signature's size with something drawn on it; the hash that names it, for
    /// [`Store::act_signed`].
    pub fn put_signature(&mut self, png: &[u8], now: DateTime<Utc>) -> Result<String> {
        ptw_media::check_signature(png)?;
        self.put_blob(SIGNATURE_MIME, png, now)
    }

    /// Take up a photo `bytes` (JPEG or PNG, as the camera made it) for permit `id`, showing
    /// `phase` of the work, as `actor`: turned upright, shrunk when large, thumbnailed, kept,
    /// and signed into the permit.
    pub fn add_photo(
        &mut self,
        actor: PersonId,
        id: PermitId,
        phase: PhotoPhase,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<PermitView> {
        // Refused before the work of preparing it, when the permit says so already.
        self.may_add_photo(actor, id, now)?;
        let prepared = ptw_media::prepare_photo(bytes)?;
        self.attach_photo(actor, id, phase, &prepared, now)
    }

    /// Whether `actor` may attach a photo to permit `id` now (the check [`Store::add_photo`]
    /// makes before preparing one).
    pub fn may_add_photo(&self, actor: PersonId, id: PermitId, now: DateTime<Utc>) -> Result<()> {
        match self.permit(id, now)?.state.photo_refusal(actor) {
            Some(violation) => Err(StoreError::Refused(violation)),
            None => Ok(()),
        }
    }

    /// Keep a photo [`ptw_media::prepare_photo`] made (off the store's lock, in the app) and
    /// sign it into permit `id`.
    pub fn attach_photo(
        &mut self,
        actor: PersonId,
        id: PermitId,
        phase: PhotoPhase,
        prepared: &ptw_media::Prepared,
        now: DateTime<Utc>,
    ) -> Result<PermitView> {
        let blob = self.put_blob(prepared.photo.mime, &prepared.photo.bytes, now)?;
        let thumbnail = self.put_blob(prepared.thumbnail.mime, &prepared.thumbnail.bytes, now)?;
        let photo = PhotoRef {
            blob,
            thumbnail,
            phase,
            width: prepared.width,
            height: prepared.height,
            camera_time: prepared.camera_time.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
            dhash: format!("{:016x}", prepared.dhash),
        };
        self.act(actor, id, Action::Photo { photo }, now)
    }

    /// The photos of `view` that are attached to another permit as well: by the same bytes, or
    /// by a difference hash at most [`ptw_media::NEAR_DUPLICATE_BITS`] apart.
    pub(crate) fn photo_reuse(&self, view: &PermitView) -> Result<Vec<PhotoReuse>> {
        if view.state.photos.is_empty() {
            return Ok(Vec::new());
        }
        let id = view.id.to_string();
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.permit_id, p.number, i.blob, i.dhash FROM photo_index i JOIN permits p ON p.id = i.permit_id
             WHERE i.permit_id != ?1 ORDER BY p.number, i.blob",
        )?;
        let others = stmt
            .query_map(params![id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut found = Vec::new();
        // A picture with next to no detail (a plain wall, a dark frame) hashes near all-zero or
        // all-one bits and would look like every other such picture: only its bytes count.
        let telling = |bits: u64| (8..=56).contains(&bits.count_ones());
        for mine in &view.state.photos {
            let bits = mine.photo.dhash_bits().filter(|b| telling(*b));
            for (other_id, number, other_blob, other_bits) in &others {
                let same_bytes = *other_blob == mine.photo.blob;
                let distance =
                    bits.filter(|_| telling(*other_bits as u64)).map(|b| ptw_media::distance(b, *other_bits as u64));
                let near = distance.is_some_and(|d| d <= ptw_media::NEAR_DUPLICATE_BITS);
                if !(same_bytes || near) {
                    continue;
                }
                let other = other_id.parse().map_err(|_| StoreError::Corrupt(format!("permit id '{other_id}'")))?;
                found.push(PhotoReuse {
                    photo: mine.photo.blob.clone(),
                    other: PermitLink { id: other, number: number.clone() },
                    other_photo: other_blob.clone(),
                    same_bytes,
                    bits: if same_bytes { 0 } else { distance.unwrap_or(0) },
                });
            }
        }
        Ok(found)
    }
}
