//! Closing idle connections: a connection that runs no statement for its idle timeout
//! (the server's `--idle-timeout`, or the session's `idle_session_timeout`) is closed, so
//! forgotten clients do not hold connection slots forever.
//!
//! Statements mark the connection busy while they run (`Running` holds a `Busy`), COPY
//! data counts as activity, and the server's task for the connection waits on
//! `expired` next to the protocol and drops the connection when it resolves. The
//! client sees the connection closed (PostgreSQL sends FATAL 57P05 first; pgwire owns
//! the socket, so Grizzly cannot write it from outside the protocol loop).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::sql::Session;

#[derive(Debug)]
struct State {
    running: usize,
    last: Instant,
}

pub struct Activity {
    state: Mutex<State>,
    changed: Notify,
    server_timeout: Option<Duration>,
    /// The session, once the connection has one: its `idle_session_timeout` wins.
    session: OnceLock<Arc<Session>>,
}

/// A statement in progress; the connection is idle again when the last is dropped.
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut state = self.0.state.lock();
        state.running -= 1;
        state.last = Instant::now();
        drop(state);
        self.0.changed.notify_one();
    }
}

impl Activity {
    pub fn new(server_timeout: Option<Duration>) -> Arc<Activity> {
        Arc::new(Activity {
            state: Mutex::new(State {
                running: 0,
                last: Instant::now(),
            }),
            changed: Notify::new(),
            server_timeout,
            session: OnceLock::new(),
        })
    }

    /// The connection's session, whose setting is read each time the connection idles.
    pub fn attach(&self, session: Arc<Session>) {
        let _ = self.session.set(session);
    }

    fn timeout(&self) -> Option<Duration> {
        let session = self
            .session
            .get()
            .and_then(|s| s.settings().idle_session_timeout());
        session.or(self.server_timeout)
    }

    pub fn busy(self: &Arc<Self>) -> Busy {
        self.state.lock().running += 1;
        self.changed.notify_one();
        Busy(self.clone())
    }

    /// Something happened on the connection (a COPY data message).
    pub fn touch(&self) {
        self.state.lock().last = Instant::now();
    }

    /// Resolves once the connection has been idle for its timeout.
    pub async fn expired(&self) {
        loop {
            let timeout = self.timeout();
            let deadline = {
                let state = self.state.lock();
                match (state.running, timeout) {
                    (0, Some(timeout)) => Some(state.last + timeout),
                    _ => None,
                }
            };
            match deadline {
                None => self.changed.notified().await,
                Some(deadline) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(deadline) => {
                            let timeout = self.timeout();
                            let state = self.state.lock();
                            let idle_for = Instant::now() - state.last;
                            if state.running == 0 && timeout.is_some_and(|t| idle_for >= t) {
                                return;
                            }
                        }
                        _ = self.changed.notified() => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn only_idleness_for_the_whole_timeout_expires() {
        let activity = Activity::new(Some(Duration::from_secs(10)));
        let busy = activity.busy();
        // Busy for longer than the timeout: nothing expires.
        let waited = tokio::time::timeout(Duration::from_secs(30), activity.expired()).await;
        assert!(waited.is_err());
        drop(busy);
        tokio::time::sleep(Duration::from_secs(6)).await;
        activity.touch();
        let start = Instant::now();
        activity.expired().await;
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(10),
            "counted from the last touch"
        );
    }
}
