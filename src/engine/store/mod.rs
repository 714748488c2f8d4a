//! The state bucket: its objects, the bucket itself, the team's lock (lease) and the team's
//! record of each cluster. Uses `aws` (and `events`, as any room may).

pub mod bucket;
pub mod lease;
pub mod objects;
pub mod record;
