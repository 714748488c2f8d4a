//! Who made what: ownership marks, whether a journal's resources are there now, the clusters
//! there is something to tear down of, and joining a team's cluster. Uses `aws` and `store`
//! (and `events`, as any room may).

pub mod join;
pub mod kinds;
pub mod known;
pub mod ownership;
