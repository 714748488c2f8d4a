//! One lock for a state bucket: a lease object, `kops-wizard/lock.json`, that every machine of
//! the team takes before it changes the bucket, the clusters in it, or the IAM group and user
//! they share. kops has no lock of its own; Terraform's S3 backend locks the same way.
//!
//! The lease is created with `If-None-Match: *`, so of two machines only one gets it; its
//! holder renews it (a heartbeat, `If-Match` on its own version) every quarter of its time to
//! live. Another machine waits, saying who holds it and since when, until it is released or
//! its heartbeat has stopped for a whole time to live (the holder died; judged by what this
//! machine saw, not by comparing clocks), and then takes it over with `If-Match` on the dead
//! holder's version, naming whose it was. `kops-wizard unlock` breaks it by hand.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::aws::{AwsError, Clients};
use super::events::{Event, Sink};
use super::record::{PREFIX, Written};
use crate::journal::Author;

/// The lease's key in the state bucket.
pub fn lock_key() -> String {
    format!("{PREFIX}lock.json")
}

/// How long a lease lives without a heartbeat (`KOPS_WIZARD_LEASE_TTL` in tests).
pub fn ttl() -> Duration {
    crate::rules::env_duration("KOPS_WIZARD_LEASE_TTL").unwrap_or(Duration::from_secs(60))
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
}

impl Holder {
    pub fn describe(&self) -> String {
        format!(
            "{} (`kops-wizard {}` of cluster {}, pid {}) since {}, last heartbeat {}",
            self.by.describe(),
            self.command,
            self.cluster,
            self.pid,
            self.since,
            self.renewed
        )
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
        holder.describe(), crate::rules::format_duration(*waited), crate::rules::format_duration(ttl())
    )]
    Busy { bucket: String, holder: Box<Holder>, waited: Duration },
    #[error(
        "the lock object s3://{bucket}/{key} cannot be read ({why}); it is left as it is. Remove \
         it with `kops-wizard unlock` if no run of kops-wizard is using the bucket"
    )]
    Unreadable { bucket: String, key: String, why: String },
}

/// A held lease; renewed in the background until [`Lease::release`] (or, when the run is
/// dropped without releasing it, until it runs out).
pub struct Lease {
    clients: Clients,
    bucket: String,
    holder: Holder,
    etag: Arc<Mutex<String>>,
    lost: watch::Receiver<bool>,
    heartbeat: tokio::task::JoinHandle<()>,
    released: bool,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lease(s3://{}/{} {})", self.bucket, lock_key(), self.holder.id)
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
            let (c, bucket) = (self.clients.clone(), self.bucket.clone());
            let etag = self.etag.lock().map(|e| e.clone()).unwrap_or_default();
            handle.spawn(async move {
                let _ = c.delete_conditional(&bucket, &lock_key(), &etag).await;
            });
        }
    }
}

/// What a run says about itself when it takes the lease.
pub struct Request<'a> {
    pub bucket: &'a str,
    pub by: &'a Author,
    pub command: &'a str,
    pub cluster: &'a str,
}

fn random_id() -> String {
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

/// Takes the bucket's lease, waiting up to `wait` for another holder to release it or to
/// stop renewing it.
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
    };
    let started = Instant::now();
    // The version seen, and since when it has not changed (a heartbeat changes it).
    let mut seen: Option<(String, Instant)> = None;
    let mut told: Option<String> = None;
    loop {
        let current = c.get_versioned(request.bucket, &key).await?;
        let (body, etag) = match &current {
            None => (None, None),
            Some(v) => (Some(v.body.as_str()), Some(v.etag.as_str())),
        };
        let theirs = body.map(|b| parse(request.bucket, b)).transpose()?;
        let still = match (&seen, etag) {
            (Some((old, since)), Some(etag)) if old == etag => since.elapsed(),
            _ => Duration::ZERO,
        };
        if let Some(etag) = etag
            && seen.as_ref().is_none_or(|(old, _)| old != etag)
        {
            seen = Some((etag.to_string(), Instant::now()));
        }
        let take_over = theirs.as_ref().is_some_and(|t| {
            still >= Duration::from_secs(t.ttl_secs) || t.dead_here(&request.by.machine)
        });
        if theirs.is_none() || take_over {
            holder.since = crate::journal::now();
            holder.renewed = holder.since.clone();
            let body = serde_json::to_vec_pretty(&holder).unwrap_or_default();
            match c.put_conditional(request.bucket, &key, body, etag).await? {
                Written::Ok(new) => {
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
        let theirs_ttl = theirs.as_ref().map_or(ttl, |t| Duration::from_secs(t.ttl_secs.max(1)));
        tokio::time::sleep(poll_interval(theirs_ttl)).await;
    }
}

fn poll_interval(ttl: Duration) -> Duration {
    (ttl / 8).clamp(Duration::from_millis(200), Duration::from_secs(5))
}

impl Lease {
    fn start(c: &Clients, bucket: &str, holder: Holder, etag: String, ttl: Duration) -> Lease {
        let etag = Arc::new(Mutex::new(etag));
        let (lost_tx, lost) = watch::channel(false);
        let heartbeat = tokio::spawn(heartbeat(
            c.clone(),
            bucket.to_string(),
            holder.clone(),
            etag.clone(),
            ttl,
            lost_tx,
        ));
        Lease {
            clients: c.clone(),
            bucket: bucket.into(),
            holder,
            etag,
            lost,
            heartbeat,
            released: false,
        }
    }

    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Whether another machine took the lease (this run's heartbeat found another version).
    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Deletes the lease, only while it is still this run's. The heartbeat is stopped and
    /// waited for first: a renewal already on its way would otherwise land after the delete
    /// was sent with the older ETag (412), leaving the lock held after the run.
    pub async fn release(mut self) -> Result<(), AwsError> {
        self.released = true;
        self.heartbeat.abort();
        let _ = (&mut self.heartbeat).await;
        let sent = Instant::now();
        let mut etag = self.etag.lock().map(|e| e.clone()).unwrap_or_default();
        for _ in 0..3 {
            match self.clients.delete_conditional(&self.bucket, &lock_key(), &etag).await? {
                Written::Ok(_) => {
                    tracing::info!(
                        bucket = self.bucket,
                        took_ms = sent.elapsed().as_millis() as u64,
                        "lock released"
                    );
                    return Ok(());
                }
                // Another version: still ours (a renewal whose answer was lost) is deleted by
                // its own ETag; anyone else's is left alone.
                Written::Lost => match current(&self.clients, &self.bucket).await {
                    Ok(Some((holder, now))) if holder.id == self.holder.id => etag = now,
                    _ => {
                        tracing::warn!(bucket = self.bucket, "the lock is no longer this run's");
                        return Ok(());
                    }
                },
            }
        }
        tracing::warn!(bucket = self.bucket, "the lock kept changing; it runs out by itself");
        Ok(())
    }
}

/// Renews the lease every quarter of its time to live; stops when another version is found.
async fn heartbeat(
    c: Clients,
    bucket: String,
    mut holder: Holder,
    etag: Arc<Mutex<String>>,
    ttl: Duration,
    lost: watch::Sender<bool>,
) {
    let every = (ttl / 4).max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(every).await;
        holder.renewed = crate::journal::now();
        holder.beat += 1;
        let body = serde_json::to_vec_pretty(&holder).unwrap_or_default();
        let current = etag.lock().map(|e| e.clone()).unwrap_or_default();
        let sent = Instant::now();
        match c.put_conditional(&bucket, &lock_key(), body, Some(&current)).await {
            Ok(Written::Ok(new)) => {
                tracing::info!(bucket, took_ms = sent.elapsed().as_millis() as u64, "lock renewed");
                if let Ok(mut e) = etag.lock() {
                    *e = new;
                }
            }
            Ok(Written::Lost) => {
                tracing::warn!(bucket, "the lock was taken by another machine or broken by hand");
                let _ = lost.send(true);
                return;
            }
            // The bucket itself is gone (a teardown deleted it, with the lease in it).
            Err(e) if e.code.as_deref() == Some("NoSuchBucket") => return,
            // A missed heartbeat is not fatal: the lease lives for several of them.
            Err(e) => tracing::warn!(bucket, error = %e, "lock heartbeat failed"),
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
