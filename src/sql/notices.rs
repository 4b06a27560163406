//! NOTICE messages a statement sends while it runs, such as the progress of a long
//! compaction: whatever runs the statement (a function, a DDL step) sends them through a
//! `NoticeSender`; the connection forwards them to the client as they arrive
//! (`wire/handler.rs`), before the statement's result.

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// One session's notices, waiting to be forwarded.
pub struct Notices {
    sender: UnboundedSender<String>,
    receiver: tokio::sync::Mutex<UnboundedReceiver<String>>,
}

impl Default for Notices {
    fn default() -> Notices {
        let (sender, receiver) = unbounded_channel();
        Notices {
            sender,
            receiver: tokio::sync::Mutex::new(receiver),
        }
    }
}

impl Notices {
    pub fn sender(&self) -> NoticeSender {
        NoticeSender(self.sender.clone())
    }

    /// The queue the connection takes notices from, one forwarder at a time.
    pub async fn receiver(&self) -> tokio::sync::MutexGuard<'_, UnboundedReceiver<String>> {
        self.receiver.lock().await
    }
}

/// Sends notices to one session's client.
#[derive(Clone)]
pub struct NoticeSender(UnboundedSender<String>);

impl NoticeSender {
    pub fn send(&self, message: &str) {
        // The session outlives every statement it runs; a closed queue means the
        // connection is gone, and nobody is left to tell.
        let _ = self.0.send(message.to_string());
    }
}
