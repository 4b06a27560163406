//! The crash test: writers stream commits while the server is killed, again and again.
//!
//! Several writer tasks stream single-row INSERTs, multi-row INSERTs and COPY batches
//! into one table. Every batch has a unique `batch_id` and a known row count, its rows
//! numbered `seq` 0..n. Before a batch is sent it is recorded as in flight; when the
//! server acknowledges it (the command tag arrives) it is recorded as acknowledged.
//! After a random-ish 200–800 ms the server is SIGKILLed (one round uses SIGTERM
//! instead, so later rounds also recover from Parquet blocks plus the WAL), restarted on
//! the same data directory, and the table is checked:
//! - every acknowledged batch is present, with each of its rows exactly once;
//! - every batch present is complete (no torn batch) and was actually sent;
//! - a batch in flight at the crash is all or nothing, and whichever it was after the
//!   first recovery it stays through every later one.
//!
//! Loops are bounded by count and by generous time limits that only guard against hangs;
//! nothing asserts on how long anything took. Set GRIZZLY_CRASH_SEED to replay a run's
//! kill timings and batch sizes.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::TestServer;
use futures::{pin_mut, SinkExt};
use tokio_postgres::Client;

const ROUNDS: u64 = 8;
/// The round that ends with SIGTERM (a clean shutdown under load) instead of SIGKILL.
const CLEAN_STOP_ROUND: u64 = 3;
const WRITERS: u64 = 5;
/// Upper bound on batches one writer sends in one round.
const MAX_BATCHES_PER_ROUND: u64 = 100_000;
/// Hang guard for a writer to notice its server is gone.
const WRITER_EXIT_LIMIT: Duration = Duration::from_secs(120);

/// A small deterministic generator (xorshift64*), so a seed replays a run.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Single,
    MultiRow,
    Copy,
}

/// What the writers told the server and what it answered.
#[derive(Default)]
struct Ledger {
    /// Every batch ever sent (or about to be): its row count and how it was written.
    sent: BTreeMap<i64, (i64, Kind)>,
    /// Batches the server acknowledged: they must be present after every crash.
    acknowledged: BTreeSet<i64>,
    /// Batches sent but not acknowledged in the current round.
    in_flight: BTreeSet<i64>,
    /// Unacknowledged batches found complete after a recovery: they must stay.
    recovered: BTreeSet<i64>,
    /// Unacknowledged batches found absent after a recovery: they must stay absent.
    lost: BTreeSet<i64>,
    /// Errors the server reported that are not explained by it going away.
    unexpected_errors: Vec<String>,
    /// Errors explained by it going away (printed, for the record).
    expected_errors: Vec<String>,
}

fn batch_id(round: u64, writer: u64, n: u64) -> i64 {
    (round * 100_000_000 + writer * 10_000_000 + n) as i64
}

/// How writer `writer` writes its `n`th batch, and how many rows it has.
fn plan_batch(writer: u64, n: u64, rng: &mut Rng) -> (Kind, i64) {
    let kind = match writer {
        0 => Kind::Single,
        1 => Kind::MultiRow,
        2 | 3 => Kind::Copy,
        _ => [Kind::Single, Kind::MultiRow, Kind::Copy][(n % 3) as usize],
    };
    let rows = match kind {
        Kind::Single => 1,
        Kind::MultiRow => rng.range(2, 200),
        // Writer 3's COPYs are large (many CopyData messages, several 8192-row batches).
        Kind::Copy if writer == 3 => rng.range(10_000, 60_000),
        Kind::Copy => rng.range(10, 3_000),
    };
    (kind, rows as i64)
}

/// Sends one batch; Ok(row count from the command tag).
async fn send_batch(
    client: &Client,
    insert_one: &tokio_postgres::Statement,
    writer: u64,
    id: i64,
    kind: Kind,
    rows: i64,
) -> Result<u64, tokio_postgres::Error> {
    let w = writer as i32;
    match kind {
        Kind::Single => {
            let payload = format!("single {id}");
            client
                .execute(insert_one, &[&id, &0i32, &w, &payload])
                .await
        }
        Kind::MultiRow => {
            let values: Vec<String> = (0..rows)
                .map(|seq| format!("({id}, {seq}, {w}, 'multi {id}/{seq}')"))
                .collect();
            let sql = format!("INSERT INTO events VALUES {}", values.join(", "));
            client.execute(sql.as_str(), &[]).await
        }
        Kind::Copy => {
            let sink = client
                .copy_in::<_, Bytes>("COPY events (batch_id, seq, writer, payload) FROM STDIN")
                .await?;
            pin_mut!(sink);
            let mut chunk = String::new();
            for seq in 0..rows {
                chunk.push_str(&format!("{id}\t{seq}\t{w}\tcopy {id}/{seq}\n"));
                if chunk.len() > 32 * 1024 {
                    sink.send(Bytes::from(std::mem::take(&mut chunk))).await?;
                }
            }
            if !chunk.is_empty() {
                sink.send(Bytes::from(chunk)).await?;
            }
            sink.finish().await
        }
    }
}

/// One writer for one round: sends batches until its server goes away (or the bound).
async fn writer(
    connection_string: String,
    round: u64,
    writer: u64,
    mut rng: Rng,
    ledger: Arc<Mutex<Ledger>>,
    stopping: Arc<AtomicBool>,
) {
    let (client, connection) =
        match tokio_postgres::connect(&connection_string, tokio_postgres::NoTls).await {
            Ok(pair) => pair,
            Err(err) => {
                // Only acceptable if the server was already being stopped.
                if !stopping.load(Ordering::SeqCst) {
                    ledger
                        .lock()
                        .unwrap()
                        .unexpected_errors
                        .push(format!("writer {writer} round {round}: connect: {err:?}"));
                }
                return;
            }
        };
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let insert_one = match client
        .prepare("INSERT INTO events (batch_id, seq, writer, payload) VALUES ($1, $2, $3, $4)")
        .await
    {
        Ok(statement) => statement,
        Err(err) => {
            if err.as_db_error().is_some() || !stopping.load(Ordering::SeqCst) {
                ledger
                    .lock()
                    .unwrap()
                    .unexpected_errors
                    .push(format!("writer {writer} round {round}: prepare: {err:?}"));
            }
            return;
        }
    };
    for n in 0..MAX_BATCHES_PER_ROUND {
        let id = batch_id(round, writer, n);
        let (kind, rows) = plan_batch(writer, n, &mut rng);
        {
            let mut ledger = ledger.lock().unwrap();
            ledger.sent.insert(id, (rows, kind));
            ledger.in_flight.insert(id);
        }
        let result = send_batch(&client, &insert_one, writer, id, kind, rows).await;
        let mut ledger = ledger.lock().unwrap();
        match result {
            Ok(count) => {
                if count != rows as u64 {
                    ledger.unexpected_errors.push(format!(
                        "batch {id} ({kind:?}): command tag says {count} rows, sent {rows}"
                    ));
                }
                ledger.in_flight.remove(&id);
                ledger.acknowledged.insert(id);
            }
            Err(err) => {
                // The server going away shows as a closed connection or an I/O error.
                // An ErrorResponse while it is being killed is a real answer, so only
                // one before the kill (or during the clean stop, as admin shutdown
                // 57P01) is tolerated.
                let killing = stopping.load(Ordering::SeqCst);
                if killing {
                    ledger
                        .expected_errors
                        .push(format!("batch {id} ({kind:?}): {err}"));
                }
                if let Some(db) = err.as_db_error() {
                    if !killing {
                        ledger.unexpected_errors.push(format!(
                            "batch {id} ({kind:?}, {rows} rows): {} {}",
                            db.code().code(),
                            db.message()
                        ));
                    }
                } else if !killing {
                    ledger.unexpected_errors.push(format!(
                        "batch {id} ({kind:?}): connection failed before the kill: {err:?}"
                    ));
                }
                return;
            }
        }
    }
}

/// Checks the table against the ledger after a recovery; moves this round's in-flight
/// batches to `recovered` or `lost`. Returns the problems found.
async fn verify(client: &Client, ledger: &mut Ledger, when: &str) -> Vec<String> {
    let rows = client
        .query(
            "SELECT batch_id, count(*), count(DISTINCT seq), min(seq), max(seq), \
             count(DISTINCT writer) FROM events GROUP BY batch_id",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{when}: reading the table: {e:?}"));
    let mut problems = Vec::new();
    let mut present = BTreeSet::new();
    for row in &rows {
        let id: i64 = row.get(0);
        let (count, distinct, min, max, writers): (i64, i64, i32, i32, i64) =
            (row.get(1), row.get(2), row.get(3), row.get(4), row.get(5));
        present.insert(id);
        let Some(&(expected, kind)) = ledger.sent.get(&id) else {
            problems.push(format!("{when}: batch {id} is present but was never sent"));
            continue;
        };
        if count != expected || distinct != expected || min != 0 || max as i64 != expected - 1 {
            problems.push(format!(
                "{when}: batch {id} ({kind:?}) has {count} rows ({distinct} distinct, seq \
                 {min}..={max}), expected exactly {expected} (acknowledged: {})",
                ledger.acknowledged.contains(&id)
            ));
        }
        if writers != 1 {
            problems.push(format!(
                "{when}: batch {id} has rows from {writers} writers"
            ));
        }
    }
    for id in &ledger.acknowledged {
        if !present.contains(id) {
            let (rows, kind) = ledger.sent[id];
            problems.push(format!(
                "{when}: acknowledged batch {id} ({kind:?}, {rows} rows) is missing"
            ));
        }
    }
    for id in &ledger.recovered {
        if !present.contains(id) {
            problems.push(format!(
                "{when}: batch {id}, present after an earlier recovery, is gone"
            ));
        }
    }
    for id in &ledger.lost {
        if present.contains(id) {
            problems.push(format!(
                "{when}: batch {id}, absent after an earlier recovery, reappeared"
            ));
        }
    }
    let in_flight = std::mem::take(&mut ledger.in_flight);
    for id in in_flight {
        if present.contains(&id) {
            ledger.recovered.insert(id);
        } else {
            ledger.lost.insert(id);
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn acknowledged_commits_survive_kills_and_batches_are_never_torn() {
    let seed = std::env::var("GRIZZLY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("crash test seed: GRIZZLY_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let mut server = TestServer::start();
    server
        .client()
        .await
        .batch_execute(
            "CREATE TABLE events (batch_id bigint NOT NULL, seq int NOT NULL, \
             writer int NOT NULL, payload text)",
        )
        .await
        .unwrap();

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut problems = Vec::new();
    for round in 0..ROUNDS {
        let stopping = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                tokio::spawn(writer(
                    server.connection_string(),
                    round,
                    w,
                    Rng(rng.next() | 1),
                    ledger.clone(),
                    stopping.clone(),
                ))
            })
            .collect();

        let delay = rng.range(200, 800);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        stopping.store(true, Ordering::SeqCst);
        let how = if round == CLEAN_STOP_ROUND {
            let clean = tokio::task::block_in_place(|| server.stop());
            if !clean {
                problems.push(format!(
                    "round {round}: SIGTERM under load did not exit cleanly"
                ));
            }
            "SIGTERM"
        } else {
            tokio::task::block_in_place(|| server.kill());
            "SIGKILL"
        };
        for task in tasks {
            tokio::time::timeout(WRITER_EXIT_LIMIT, task)
                .await
                .expect("a writer did not notice its server was gone")
                .expect("a writer panicked");
        }

        tokio::task::block_in_place(|| server.restart());
        let client = server.client().await;
        // The writers are done: the ledger can leave its mutex while it is checked.
        let mut checked = std::mem::take(&mut *ledger.lock().unwrap());
        let in_flight = checked.in_flight.len();
        let when = format!("after round {round} ({how} after {delay} ms)");
        problems.extend(verify(&client, &mut checked, &when).await);
        println!(
            "{when}: {} batches acknowledged so far, {in_flight} in flight at the crash \
             ({} recovered, {} lost in all)",
            checked.acknowledged.len(),
            checked.recovered.len(),
            checked.lost.len()
        );
        for error in checked.expected_errors.drain(..) {
            println!("  in flight: {error}");
        }
        problems.append(&mut checked.unexpected_errors);
        *ledger.lock().unwrap() = checked;
        assert!(
            problems.is_empty(),
            "seed {seed}: {} problem(s):\n{}",
            problems.len(),
            problems.join("\n")
        );
    }

    // The writers made progress: the test exercised what it claims to.
    {
        let ledger = ledger.lock().unwrap();
        let acknowledged_kinds: BTreeSet<String> = ledger
            .acknowledged
            .iter()
            .map(|id| format!("{:?}", ledger.sent[id].1))
            .collect();
        assert_eq!(
            acknowledged_kinds.len(),
            3,
            "every kind of write was acknowledged at least once: {acknowledged_kinds:?}"
        );
    }

    // Finally a clean stop and start: everything found so far is still there, once.
    assert!(server.stop(), "clean stop after the crash rounds");
    server.restart();
    let client = server.client().await;
    let mut ledger = std::mem::take(&mut *ledger.lock().unwrap());
    let problems = verify(&client, &mut ledger, "after the final clean restart").await;
    assert!(problems.is_empty(), "seed {seed}:\n{}", problems.join("\n"));
    let total: i64 = client
        .query_one("SELECT count(*) FROM events", &[])
        .await
        .unwrap()
        .get(0);
    let expected: i64 = ledger
        .acknowledged
        .iter()
        .chain(&ledger.recovered)
        .map(|id| ledger.sent[id].0)
        .sum();
    assert_eq!(total, expected, "seed {seed}: total row count");
}
