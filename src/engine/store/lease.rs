//! One lock for a state bucket: a lease object, `kops-wizard/lock.json`, that every machine of
//! the team takes before it changes the bucket, the clusters in it, or the IAM group and users
//! they share, and holds to the end of its run. kops has no lock of its own; Terraform's S3
//! backend locks the same way.
//!
//! The lease is created with `If-None-Match: *`, so of two machines only one gets it, and read
//! back; its holder renews it (a heartbeat, `If-Match` on its own version) every quarter of its
//! time to live. Another machine waits, saying who holds it and since when, until it is
//! released or its heartbeat has stopped for a whole time to live (the holder died; judged by
//! what this machine saw, not by comparing clocks), and then takes it over with `If-Match` on
//! the dead holder's version, naming whose it was. `kops-wizard unlock` breaks it by hand.
//!
//! **Fencing.** A holder can be paused past its time to live (a laptop lid, SIGSTOP, a stalled
//! network) while another machine takes the lease over. So before every change (each record
//! write, each kops call that writes, each deletion) the run asks its [`Fence`]: a lease not
//! confirmed for half its time to live is renewed there and then, and a renewal that finds
//! another version means the lease is lost: the run stops at once, before the change. Elapsed
//! time is measured on both the monotonic and the wall clock, whichever says more (the
//! monotonic clock stands still while a machine sleeps).
//!
//! **A store that ignores conditional writes** (some S3-compatible stores and proxies) would
//! let two machines both hold the lease. Before its first lease a run probes the store with a
//! write that S3 must refuse; a store that takes it is refused for team use, named.
//!
//! **The bucket's deletion.** A teardown deleting the bucket says so in its lease first; a
//! waiter that reads it (or finds the bucket gone) stops instead of setting up in a bucket
//! that is about to disappear. The lease is the last object deleted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::objects::{PREFIX, Written};
use crate::engine::aws::clients::Clients;
use crate::engine::aws::error::AwsError;
use crate::engine::events::{Event, Sink};
use crate::journal::Author;

/// The lease's key in the state bucket.
pub fn lock_key() -> String {
    format!("{PREFIX}lock.json")
}

/// A probe's key: one per run, as two machines may probe the same bucket at once; deleted
/// with every version once the probe is done.
fn probe_key() -> String {
    format!("{PREFIX}probe-{}.json", random_id())
}

/// The shortest and longest time to live a lease may claim. The lease is written by whoever
/// can write the bucket: a time to live of a year would keep every machine waiting, one of
/// zero would let anyone's lease be taken at once.
pub const MIN_TTL: Duration = Duration::from_secs(1);
pub const MAX_TTL: Duration = Duration::from_secs(15 * 60);

/// How long a lease lives without a heartbeat (`KOPS_WIZARD_LEASE_TTL` in tests), within
/// [`MIN_TTL`]..[`MAX_TTL`].
pub fn ttl() -> Duration {
    crate::rules::env_duration("KOPS_WIZARD_LEASE_TTL")
        .unwrap_or(Duration::from_secs(60))
        .clamp(MIN_TTL, MAX_TTL)
}

/// How long a run waits for a lease another machine holds (`KOPS_WIZARD_LOCK_WAIT`).
pub fn max_wait() -> Duration {
    crate::rules::env_duration("KOPS_WIZARD_LOCK_WAIT").unwrap_or(Duration::from_secs(300))
}

/// What the lease object says: who holds it, for what, since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Random, one per acquisition: only its holder renews or releases it.
    pub id: String,
    pub by: Author,
    pub pid: u32,
    /// `setup`, `teardown`.
    pub command: String,
    pub cluster: String,
    pub since: String,
    pub renewed: String,
    /// Seconds a lease lives without a heartbeat.
    pub ttl_secs: u64,
    /// Counts the heartbeats: each renewal's body differs, so its ETag (the body's MD5) does
    /// too, even for two renewals within the same second; a waiter that sees the same ETag
    /// for a whole time to live knows no heartbeat came.
    #[serde(default)]
    pub beat: u64,
    /// The holder is deleting the bucket (and this lease with it, last): a waiter stops.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleting_bucket: bool,
}

impl Holder {
    /// Who holds it, for messages: every word of it came from the bucket, so each is shown
    /// on one line and bounded.
    pub fn describe(&self) -> String {
        let one = crate::text::one_line;
        format!(
            "{} (`kops-wizard {}` of cluster {}, pid {}) since {}, last heartbeat {}",
            self.by.describe(),
            one(&self.command),
            one(&self.cluster),
            self.pid,
            one(&self.since),
            one(&self.renewed)
        )
    }

    /// The time to live it claims, within the bounds every lease is held to.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_secs).clamp(MIN_TTL, MAX_TTL)
    }

    /// A holder on this machine whose process is gone: no need to wait for its lease to run
    /// out.
    fn dead_here(&self, machine: &str) -> bool {
        self.by.machine == machine && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "the state bucket {bucket} is locked by {}; waited {}. Wait for that run to finish and \
         run this command again; if it died, its lock runs out {} after its last heartbeat, or \
         break it with `kops-wizard unlock`",
        holder.describe(), crate::rules::format_duration(*waited),
        crate::rules::format_duration(holder.ttl())
    )]
    Busy { bucket: String, holder: Box<Holder>, waited: Duration },
    #[error(
        "the lock object s3://{bucket}/{key} cannot be read ({why}); it is left as it is. Remove \
         it with `kops-wizard unlock` if no run of kops-wizard is using the bucket"
    )]
    Unreadable { bucket: String, key: String, why: String },
    #[error(
        "the state bucket {bucket} is being deleted by {} (its teardown): nothing was changed \
         here. When that teardown is done, run this command again: a setup makes a new bucket",
        holder.describe()
    )]
    BucketBeingDeleted { bucket: String, holder: Box<Holder> },
    #[error(
        "the state bucket {bucket} was deleted while this run waited for its lock (a teardown \
         of the team's cluster): nothing was changed here. Run this command again: a setup \
         makes a new bucket"
    )]
    BucketGone { bucket: String },
    #[error(
        "the state store {endpoint} does not honour S3's conditional writes ({why}): two \
         machines could both take the team's lock there and both change the cluster. \
         kops-wizard's team mode is refused on it; nothing further was changed. Use Amazon S3 \
         (or a store that refuses a PutObject whose If-Match or If-None-Match does not hold), \
         or unset AWS_ENDPOINT_URL"
    )]
    NoConditionalWrites { endpoint: String, why: String },
    #[error(transparent)]
    Fenced(#[from] Fenced),
}

/// The run lost the team's lock: a change it was about to make was not made.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "this run lost the team's lock on s3://{bucket} ({why}); it stopped at once, before its \
     next change. Another machine may hold the lock now. Nothing after the last completed \
     step was changed; run the command again once that machine is done: it reads the record \
     as it is then and continues"
)]
pub struct Fenced {
    pub bucket: String,
    pub why: String,
}

/// What a run says about itself when it takes the lease.
pub struct Request<'a> {
    pub bucket: &'a str,
    pub by: &'a Author,
    pub command: &'a str,
    pub cluster: &'a str,
}

/// A random id (16 hex digits), for a lease, a probe's key, a private directory's name.
pub fn random_id() -> String {
    let mut bytes = [0u8; 8];
    // Without randomness the pid and the time still tell two runs apart.
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return format!("{}-{}", std::process::id(), crate::journal::now());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse(bucket: &str, body: &str) -> Result<Holder, LeaseError> {
    serde_json::from_str(body).map_err(|e| LeaseError::Unreadable {
        bucket: bucket.into(),
        key: lock_key(),
        why: e.to_string(),
    })
}

fn gone_bucket(e: &AwsError) -> bool {
    e.code.as_deref() == Some("NoSuchBucket")
}

/// Whether the store refuses what S3 refuses: a PutObject whose `If-Match` names a version of
/// an object that is not there. S3 (and moto) answer 404 `NoSuchKey` (or 412) and write
/// nothing, so on a store that honours conditional writes the probe costs one request and
/// leaves nothing behind; a store that ignores the header writes the object, which is then
/// deleted (by its version) and the store named. (The other header, `If-None-Match: *`, is
/// checked by reading the lease back once it is taken.)
pub async fn probe_conditional_writes(c: &Clients, bucket: &str) -> Result<(), LeaseError> {
    let key = probe_key();
    let wrong = "\"0000000000000000000000000000kops\"";
    let body = b"{\"probe\": \"kops-wizard checks that conditional writes are refused\"}".to_vec();
    match c.put_conditional(bucket, &key, body, Some(wrong)).await? {
        Written::Lost => Ok(()),
        Written::Ok(_) => {
            c.delete_every_version(bucket, &key).await?;
            Err(LeaseError::NoConditionalWrites {
                endpoint: c.endpoint.clone().unwrap_or_else(|| format!("s3://{bucket}")),
                why: "a PutObject with If-Match naming no version of the object was written".into(),
            })
        }
    }
}

/// Takes the bucket's lease, waiting up to `wait` for another holder to release it or to
/// stop renewing it. The store is probed first (see [`probe_conditional_writes`]).
pub async fn acquire(
    c: &Clients,
    request: Request<'_>,
    wait: Duration,
    sink: &Sink,
) -> Result<Lease, LeaseError> {
    let ttl = ttl();
    let key = lock_key();
    let now = crate::journal::now();
    let mut holder = Holder {
        id: random_id(),
        by: request.by.clone(),
        pid: std::process::id(),
        command: request.command.into(),
        cluster: request.cluster.into(),
        since: now.clone(),
        renewed: now,
        ttl_secs: ttl.as_secs().max(1),
        beat: 0,
        deleting_bucket: false,
    };
    let started = Instant::now();
    let gone = |e: AwsError| match gone_bucket(&e) {
        true => LeaseError::BucketGone { bucket: request.bucket.into() },
        false => LeaseError::Aws(e),
    };
    // The version seen, and since when it has not changed (a heartbeat changes it).
    let mut seen: Option<(String, Instant)> = None;
    let mut told: Option<String> = None;
    // The store is probed once, just before this run's first attempt at the lease: never
    // while another machine holds it (a bucket being deleted is not written to).
    let mut probed = false;
    loop {
        let current = c.get_versioned(request.bucket, &key).await.map_err(gone)?;
        let (body, etag) = match &current {
            None => (None, None),
            Some(v) => (Some(v.body.as_str()), Some(v.etag.as_str())),
        };
        let theirs = body.map(|b| parse(request.bucket, b)).transpose()?;
        if let Some(t) = theirs.as_ref().filter(|t| t.deleting_bucket) {
            return Err(LeaseError::BucketBeingDeleted {
                bucket: request.bucket.into(),
                holder: Box::new(t.clone()),
            });
        }
        let still = match (&seen, etag) {
            (Some((old, since)), Some(etag)) if old == etag => since.elapsed(),
            _ => Duration::ZERO,
        };
        if let Some(etag) = etag
            && seen.as_ref().is_none_or(|(old, _)| old != etag)
        {
            seen = Some((etag.to_string(), Instant::now()));
        }
        let take_over =
            theirs.as_ref().is_some_and(|t| still >= t.ttl() || t.dead_here(&request.by.machine));
        if (theirs.is_none() || take_over) && !probed {
            probed = true;
            probe_conditional_writes(c, request.bucket).await.map_err(|e| match e {
                LeaseError::Aws(e) => gone(e),
                other => other,
            })?;
            continue;
        }
        if theirs.is_none() || take_over {
            holder.since = crate::journal::now();
            holder.renewed = holder.since.clone();
            let body = serde_json::to_vec_pretty(&holder).unwrap_or_default();
            match c.put_conditional(request.bucket, &key, body, etag).await.map_err(gone)? {
                Written::Ok(new) => {
                    read_back(c, request.bucket, &holder).await?;
                    if let (true, Some(t)) = (take_over, &theirs) {
                        let why = match t.dead_here(&request.by.machine) {
                            true => format!("its process {} on this machine is gone", t.pid),
                            false => "its heartbeat stopped".to_string(),
                        };
                        sink.send(Event::Note {
                            message: format!(
                                "lock of s3://{} taken over: it was held by {}; {why}",
                                request.bucket,
                                t.describe()
                            ),
                        });
                    }
                    // Read by scripts/bench (the lock figures).
                    tracing::info!(
                        bucket = request.bucket,
                        waited_ms = started.elapsed().as_millis() as u64,
                        took_over = take_over,
                        "lock acquired"
                    );
                    return Ok(Lease::start(c, request.bucket, holder, new, ttl));
                }
                Written::Lost => continue,
            }
        }
        if let Some(t) = &theirs {
            if started.elapsed() >= wait {
                return Err(LeaseError::Busy {
                    bucket: request.bucket.into(),
                    holder: Box::new(t.clone()),
                    waited: started.elapsed(),
                });
            }
            if told.as_deref() != Some(t.id.as_str()) {
                told = Some(t.id.clone());
                sink.send(Event::Note {
                    message: format!(
                        "waiting for the lock of s3://{}: held by {} (up to {})",
                        request.bucket,
                        t.describe(),
                        crate::rules::format_duration(wait)
                    ),
                });
            }
        }
        // Polled by the holder's time to live: its lease is what runs out.
        let theirs_ttl = theirs.as_ref().map_or(ttl, Holder::ttl);
        tokio::time::sleep(poll_interval(theirs_ttl)).await;
    }
}

/// The lease as the store keeps it right after it was taken must be this run's: a store that
/// let another writer's lease replace it at once does not honour conditional writes.
async fn read_back(c: &Clients, bucket: &str, ours: &Holder) -> Result<(), LeaseError> {
    let back = c.get_versioned(bucket, &lock_key()).await?;
    let holder = back.as_ref().map(|v| parse(bucket, &v.body)).transpose()?;
    match holder {
        Some(h) if h.id == ours.id => Ok(()),
        other => Err(LeaseError::NoConditionalWrites {
            endpoint: c.endpoint.clone().unwrap_or_else(|| format!("s3://{bucket}")),
            why: match other {
                Some(h) => {
                    format!("the lease this run had just taken read back as {}'s", h.by.describe())
                }
                None => "the lease this run had just taken read back as gone".into(),
            },
        }),
    }
}

/// How often a waiter asks: an eighth of the holder's time to live (what runs out), but at
/// least every two seconds, so a released lease is taken without a long idle wait.
fn poll_interval(ttl: Duration) -> Duration {
    (ttl / 8).clamp(Duration::from_millis(200), Duration::from_secs(2))
}

/// When the lease was last known to be this run's: on both clocks, because the monotonic one
/// stands still while the machine sleeps, and the wall clock can be set back.
#[derive(Debug, Clone, Copy)]
struct Confirmed {
    mono: Instant,
    wall: SystemTime,
}

impl Confirmed {
    fn now() -> Self {
        Confirmed { mono: Instant::now(), wall: SystemTime::now() }
    }

    fn age(&self) -> Duration {
        let wall = SystemTime::now().duration_since(self.wall).unwrap_or_default();
        self.mono.elapsed().max(wall)
    }
}

/// The lease's state, shared by its heartbeat, its fence and its release.
struct Shared {
    clients: Clients,
    bucket: String,
    ttl: Duration,
    /// The holder as last written, and its ETag; renewals take it in turn (the heartbeat and
    /// a fence must not both renew from the same version, or the second would think it lost).
    current: tokio::sync::Mutex<(Holder, String)>,
    /// The ETag last written, readable without waiting for a renewal in flight.
    etag: Mutex<String>,
    confirmed: Mutex<Confirmed>,
    lost: watch::Sender<Option<String>>,
}

impl Shared {
    fn fenced(&self, why: impl Into<String>) -> Fenced {
        Fenced { bucket: self.bucket.clone(), why: why.into() }
    }

    fn lose(&self, why: &str) {
        tracing::warn!(bucket = self.bucket, why, "the team's lock is lost");
        self.lost.send_if_modified(|lost| {
            let first = lost.is_none();
            lost.get_or_insert_with(|| why.to_string());
            first
        });
    }

    fn lost(&self) -> Option<String> {
        self.lost.borrow().clone()
    }

    fn age(&self) -> Duration {
        self.confirmed.lock().map(|c| c.age()).unwrap_or(Duration::MAX)
    }

    /// One renewal: `If-Match` on the version last written. `Ok(false)` when another version
    /// is there (the lease is lost).
    async fn renew(&self, change: impl FnOnce(&mut Holder)) -> Result<bool, AwsError> {
        let mut current = self.current.lock().await;
        if self.lost().is_some() {
            return Ok(false);
        }
        let mut holder = current.0.clone();
        holder.renewed = crate::journal::now();
        holder.beat += 1;
        change(&mut holder);
        let body = serde_json::to_vec_pretty(&holder).unwrap_or_default();
        let sent = Confirmed::now();
        let started = Instant::now();
        match self
            .clients
            .put_conditional(&self.bucket, &lock_key(), body, Some(&current.1))
            .await?
        {
            Written::Ok(etag) => {
                tracing::info!(
                    bucket = self.bucket,
                    took_ms = started.elapsed().as_millis() as u64,
                    "lock renewed"
                );
                if let Ok(mut e) = self.etag.lock() {
                    *e = etag.clone();
                }
                if let Ok(mut c) = self.confirmed.lock() {
                    *c = sent;
                }
                *current = (holder, etag);
                Ok(true)
            }
            Written::Lost => {
                self.lose("another machine took it over, or it was broken by hand");
                Ok(false)
            }
        }
    }
}

/// What every change checks first: that the team's lease is still this run's. Cheap to clone;
/// one per lease.
#[derive(Clone)]
pub struct Fence(Arc<Shared>);

impl std::fmt::Debug for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fence(s3://{}/{})", self.0.bucket, lock_key())
    }
}

impl Fence {
    /// `Ok` when the lease is this run's now. A lease confirmed less than half its time to live
    /// ago is taken as held (the heartbeat renews every quarter); an older one is renewed here
    /// first. A renewal that finds another version, or no confirmation for a whole time to
    /// live (errors count: a lease nobody could renew may have been taken over), is `Fenced`.
    pub async fn check(&self) -> Result<(), Fenced> {
        let s = &self.0;
        if let Some(why) = s.lost() {
            return Err(s.fenced(why));
        }
        let age = s.age();
        if age < s.ttl / 2 {
            return Ok(());
        }
        match s.renew(|_| {}).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(s.fenced(s.lost().unwrap_or_default())),
            Err(e) if gone_bucket(&e) => {
                s.lose("the state bucket is gone");
                Err(s.fenced("the state bucket is gone"))
            }
            Err(e) if age >= s.ttl => {
                let why = format!(
                    "it could not be renewed for {} ({e}), longer than its time to live",
                    crate::rules::format_duration(age)
                );
                s.lose(&why);
                Err(s.fenced(why))
            }
            // Not confirmed now, but still within its time to live: nobody may take it yet.
            Err(e) => {
                tracing::warn!(bucket = s.bucket, error = %e, "lock renewal failed");
                Ok(())
            }
        }
    }

    /// Resolves when the lease is lost (a kops call that writes is stopped then), with why.
    pub async fn lost(&self) -> String {
        let mut rx = self.0.lost.subscribe();
        loop {
            if let Some(why) = rx.borrow_and_update().clone() {
                return why;
            }
            if rx.changed().await.is_err() {
                // The lease is gone with its run: nothing will be lost any more.
                std::future::pending::<()>().await;
            }
        }
    }

    pub fn bucket(&self) -> &str {
        &self.0.bucket
    }

    /// The [`Fenced`] error for a lost lease, for a caller that saw [`Fence::lost`] resolve.
    pub fn error(&self, why: String) -> Fenced {
        self.0.fenced(why)
    }
}

/// A held lease; renewed in the background until [`Lease::release`] (or, when the run is
/// dropped without releasing it, until it runs out).
pub struct Lease {
    shared: Arc<Shared>,
    holder_id: String,
    heartbeat: tokio::task::JoinHandle<()>,
    released: bool,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lease(s3://{}/{} {})", self.shared.bucket, lock_key(), self.holder_id)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.heartbeat.abort();
        if self.released {
            return;
        }
        // A run dropped without releasing (Ctrl-C): best effort, so that other machines need
        // not wait for the lease to run out. A process that dies outright cannot; its lease
        // runs out, and a run on the same machine sees its pid gone and takes it at once.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let (c, bucket) = (self.shared.clients.clone(), self.shared.bucket.clone());
            let etag = self.shared.etag.lock().map(|e| e.clone()).unwrap_or_default();
            handle.spawn(async move {
                let _ = c.delete_conditional(&bucket, &lock_key(), &etag).await;
            });
        }
    }
}

impl Lease {
    fn start(c: &Clients, bucket: &str, holder: Holder, etag: String, ttl: Duration) -> Lease {
        let (lost, _) = watch::channel(None);
        let holder_id = holder.id.clone();
        let shared = Arc::new(Shared {
            clients: c.clone(),
            bucket: bucket.into(),
            ttl,
            current: tokio::sync::Mutex::new((holder, etag.clone())),
            etag: Mutex::new(etag),
            confirmed: Mutex::new(Confirmed::now()),
            lost,
        });
        let heartbeat = tokio::spawn(heartbeat(shared.clone()));
        Lease { shared, holder_id, heartbeat, released: false }
    }

    /// The fence every change of this run checks.
    pub fn fence(&self) -> Fence {
        Fence(self.shared.clone())
    }

    /// Whether another machine took the lease (this run's heartbeat or a fence found another
    /// version).
    pub fn is_lost(&self) -> bool {
        self.shared.lost().is_some()
    }

    /// Says in the lease that the bucket is being deleted: waiters stop rather than set up in
    /// a bucket about to disappear. Fenced like any change.
    pub async fn mark_deleting_bucket(&self) -> Result<(), LeaseError> {
        self.fence().check().await?;
        match self.shared.renew(|h| h.deleting_bucket = true).await? {
            true => Ok(()),
            false => Err(self.shared.fenced(self.shared.lost().unwrap_or_default()).into()),
        }
    }

    /// The bucket's last objects: every version of this lease, once the rest of the bucket is
    /// empty. The heartbeat stops first (a renewal would write a new version). Fenced.
    pub async fn delete_with_bucket(&mut self) -> Result<(), LeaseError> {
        self.fence().check().await?;
        self.released = true;
        self.heartbeat.abort();
        let _ = (&mut self.heartbeat).await;
        let c = &self.shared.clients;
        c.delete_every_version(&self.shared.bucket, &lock_key()).await?;
        Ok(())
    }

    /// Deletes the lease, only while it is still this run's. The heartbeat is stopped and
    /// waited for first: a renewal already on its way would otherwise land after the delete
    /// was sent with the older ETag (412), leaving the lock held after the run.
    pub async fn release(mut self) -> Result<(), AwsError> {
        if self.released {
            return Ok(());
        }
        self.released = true;
        self.heartbeat.abort();
        let _ = (&mut self.heartbeat).await;
        let (c, bucket) = (&self.shared.clients, &self.shared.bucket);
        let sent = Instant::now();
        let mut etag = self.shared.etag.lock().map(|e| e.clone()).unwrap_or_default();
        for _ in 0..3 {
            match c.delete_conditional(bucket, &lock_key(), &etag).await {
                Ok(Written::Ok(_)) => {
                    tracing::info!(
                        bucket,
                        took_ms = sent.elapsed().as_millis() as u64,
                        "lock released"
                    );
                    return Ok(());
                }
                // The bucket went with the run (a teardown deleted it).
                Err(e) if gone_bucket(&e) => return Ok(()),
                Err(e) => return Err(e),
                // Another version: still ours (a renewal whose answer was lost) is deleted by
                // its own ETag; anyone else's is left alone.
                Ok(Written::Lost) => match current(c, bucket).await {
                    Ok(Some((holder, now))) if holder.id == self.holder_id => etag = now,
                    _ => {
                        tracing::warn!(bucket, "the lock is no longer this run's");
                        return Ok(());
                    }
                },
            }
        }
        tracing::warn!(bucket, "the lock kept changing; it runs out by itself");
        Ok(())
    }
}

/// Renews the lease every quarter of its time to live; stops when another version is found or
/// the bucket is gone. A failed renewal is retried at the next beat; the fence counts how long
/// the lease has gone unconfirmed.
async fn heartbeat(shared: Arc<Shared>) {
    let every = (shared.ttl / 4).max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(every).await;
        match shared.renew(|_| {}).await {
            Ok(true) => {}
            Ok(false) => return,
            // The bucket itself is gone (a teardown deleted it, with the lease in it).
            Err(e) if gone_bucket(&e) => {
                shared.lose("the state bucket is gone");
                return;
            }
            Err(e) => {
                tracing::warn!(bucket = shared.bucket, error = %e, "lock heartbeat failed");
                if shared.age() >= shared.ttl {
                    shared.lose("its heartbeat could not renew it for a whole time to live");
                    return;
                }
            }
        }
    }
}

/// Who holds the bucket's lease now, for `unlock` and `status`.
pub async fn current(c: &Clients, bucket: &str) -> Result<Option<(Holder, String)>, LeaseError> {
    match c.get_versioned(bucket, &lock_key()).await? {
        None => Ok(None),
        Some(v) => Ok(Some((parse(bucket, &v.body)?, v.etag))),
    }
}

/// Breaks the lease by hand: deletes it only while it is still the version shown.
pub async fn break_lease(c: &Clients, bucket: &str, etag: &str) -> Result<bool, AwsError> {
    Ok(c.delete_conditional(bucket, &lock_key(), etag).await? == Written::Ok(String::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(ttl_secs: u64) -> Holder {
        Holder {
            id: "x".into(),
            by: Author {
                arn: "arn:aws:iam::1:user/a\nsetup done".into(),
                host: "h\u{1b}[2J".into(),
                machine: "m".into(),
                wizard: "0".into(),
                kops: None,
            },
            pid: 1,
            command: "setup".into(),
            cluster: "c".into(),
            since: "t".into(),
            renewed: "t".into(),
            ttl_secs,
            beat: 0,
            deleting_bucket: false,
        }
    }

    #[test]
    fn a_leases_time_to_live_is_bounded_whatever_it_claims() {
        assert_eq!(holder(0).ttl(), MIN_TTL);
        assert_eq!(holder(u64::MAX).ttl(), MAX_TTL);
        assert_eq!(holder(60).ttl(), Duration::from_secs(60));
    }

    #[test]
    fn a_holder_from_the_bucket_is_described_on_one_line() {
        let text = holder(60).describe();
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(text.contains("a\\nsetup done"), "{text}");
    }

    #[test]
    fn an_older_lease_without_the_deleting_flag_still_reads() {
        let json = r#"{"id":"a","by":{"arn":"x","host":"h","machine":"m","wizard":"0"},
            "pid":1,"command":"setup","cluster":"c","since":"t","renewed":"t","ttl_secs":60}"#;
        let h: Holder = serde_json::from_str(json).unwrap();
        assert!(!h.deleting_bucket);
        assert_eq!(h.beat, 0);
    }
}
