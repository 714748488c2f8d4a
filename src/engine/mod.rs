//! The engine: everything that touches AWS, kops, SSH keys and the local files, with no
//! terminal dependency. The three front ends drive it the same way: they hand it a Plan and
//! read its Events.
//!
//! Its rooms are layered, each using only those below it: `aws` (the lowest) <- `store` <-
//! `team` <- `cluster` <- the runs (`setup`, `teardown`, `change`). `events` and `proxy` serve every room.

pub mod aws;
pub mod change;
pub mod cluster;
pub mod events;
pub mod proxy;
pub mod setup;
pub mod store;
pub mod team;
pub mod teardown;
