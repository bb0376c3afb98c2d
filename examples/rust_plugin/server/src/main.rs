//! rust_example_server: the tasks of rust_example_tasks served as a remote
//! Cascadence plugin (protocol v1, docs/plugins.md).
//!
//!   rust_example_server [--listen 127.0.0.1:8700] [--token TOKEN]
//!
//! Port 0 picks a free port; the first line of stdout is always
//! `listening on http://HOST:PORT`. With a token (--token or CRONYX_TOKEN)
//! every request needs `Authorization: Bearer TOKEN`.

use rust_example_tasks::{panic_message, tasks, Code, Task, TaskError};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tiny_http::{Header, Method, Request, Response, Server};

/// How long a sync request waits when timeout_ms is 0 or absent.
const DEFAULT_SYNC_WAIT: Duration = Duration::from_secs(30);
const WORKERS: usize = 4;

struct Run {
    task_id: String,
    state: &'static str,
    result: Value,
    error: Value,
    started_at: String,
    finished_at: Option<String>,
    cancel: Arc<AtomicBool>,
}

impl Run {
    fn terminal(&self) -> bool {
        !matches!(self.state, "queued" | "running")
    }
}

#[derive(Default)]
struct State {
    runs: HashMap<String, Run>,
    /// (task id, Idempotency-Key) -> (the request body, normalised; run id)
    keys: HashMap<(String, String), (String, String)>,
}

struct Service {
    state: Mutex<State>,
    changed: Condvar,
    token: Option<String>,
    next_run: AtomicU64,
}

type Reply = (u16, Value, Vec<Header>);

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn problem(status: u16, title: &str, detail: &str, code: &str, retryable: bool) -> Reply {
    (
        status,
        json!({"type": "about:blank", "title": title, "status": status, "detail": detail,
                    "code": code, "retryable": retryable}),
        Vec::new(),
    )
}

/// ISO 8601 UTC with milliseconds, from the civil-from-days algorithm.
fn now_iso() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

impl Service {
    fn document(&self, run_id: &str, run: &Run) -> Value {
        json!({"run_id": run_id, "task_id": run.task_id, "state": run.state, "result": run.result,
               "error": run.error, "started_at": run.started_at, "finished_at": run.finished_at})
    }

    /// 200 with a terminal run, else 202 with Location and Retry-After.
    fn run_reply(&self, run_id: &str, run: &Run) -> Reply {
        let doc = self.document(run_id, run);
        if run.terminal() {
            (200, doc, Vec::new())
        } else {
            (
                202,
                doc,
                vec![
                    header("Location", &format!("/v1/runs/{run_id}")),
                    header("Retry-After", "1"),
                ],
            )
        }
    }

    fn finish(&self, run_id: &str, outcome: Result<Value, TaskError>) {
        let mut state = self.state.lock().unwrap();
        if let Some(run) = state.runs.get_mut(run_id) {
            let cancelled = run.cancel.load(Ordering::Acquire);
            match outcome {
                Ok(result) if !cancelled => {
                    run.state = "succeeded";
                    run.result = result;
                }
                Err(e) if e.code != Code::Cancelled && !cancelled => {
                    run.state = "failed";
                    run.error =
                        json!({"title": "task failed", "detail": e.message, "code": e.code.name()});
                }
                _ => {
                    run.state = "cancelled";
                    run.error = json!({"title": "cancelled", "detail": "the run was cancelled", "code": "CANCELLED"});
                }
            }
            run.finished_at = Some(now_iso());
        }
        self.changed.notify_all();
    }

    fn start_run(self: &Arc<Self>, task_id: &str, key: &str, body: &[u8]) -> Reply {
        let Ok(request) = serde_json::from_slice::<Value>(body) else {
            return problem(
                400,
                "bad request",
                "the body is not JSON",
                "INVALID_ARGUMENT",
                false,
            );
        };
        if !request.is_object() {
            return problem(
                400,
                "bad request",
                "the body must be a JSON object",
                "INVALID_ARGUMENT",
                false,
            );
        }
        let params = request.get("params").cloned().unwrap_or(Value::Null);
        let input = request.get("input").cloned().unwrap_or(Value::Null);
        let mode = request
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or("sync");
        if mode != "sync" && mode != "async" {
            return problem(
                400,
                "bad request",
                &format!("mode must be sync or async, not {mode}"),
                "INVALID_ARGUMENT",
                false,
            );
        }
        let wait = match request.get("timeout_ms").and_then(Value::as_u64) {
            None | Some(0) => DEFAULT_SYNC_WAIT,
            Some(ms) => Duration::from_millis(ms),
        };
        let Some(parsed) = Task::parse(task_id, &params) else {
            return problem(
                404,
                "unknown task",
                &format!("no task '{task_id}' on this server"),
                "NOT_FOUND",
                false,
            );
        };
        let task = match parsed {
            Ok(task) => task,
            Err(e) => return problem(422, "invalid params", &e.message, "INVALID_ARGUMENT", false),
        };

        let normalised = request.to_string();
        let run_id;
        {
            let mut state = self.state.lock().unwrap();
            let scope = (task_id.to_owned(), key.to_owned());
            if let Some((seen_body, seen_run)) = state.keys.get(&scope) {
                if *seen_body != normalised {
                    return problem(
                        422,
                        "idempotency key reused",
                        &format!("Idempotency-Key '{key}' was used with another body"),
                        "INVALID_ARGUMENT",
                        false,
                    );
                }
                let seen_run = seen_run.clone();
                return self.wait_for(
                    state,
                    &seen_run,
                    if mode == "sync" { wait } else { Duration::ZERO },
                );
            }
            let n = self.next_run.fetch_add(1, Ordering::Relaxed);
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            run_id = format!(
                "{:016x}-{n}",
                nanos as u64 ^ (u64::from(std::process::id()) << 48)
            );
            let cancel = Arc::new(AtomicBool::new(false));
            state.runs.insert(
                run_id.clone(),
                Run {
                    task_id: task_id.to_owned(),
                    state: "running",
                    result: Value::Null,
                    error: Value::Null,
                    started_at: now_iso(),
                    finished_at: None,
                    cancel: cancel.clone(),
                },
            );
            state.keys.insert(scope, (normalised, run_id.clone()));
            let service = Arc::clone(self);
            let id = run_id.clone();
            std::thread::spawn(move || {
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    task.run(&input, &|| cancel.load(Ordering::Acquire))
                }))
                .unwrap_or_else(|payload| {
                    Err(TaskError {
                        code: Code::Internal,
                        message: format!(
                            "rust_example.{}: panicked: {}",
                            task_name(&task),
                            panic_message(payload.as_ref())
                        ),
                    })
                });
                service.finish(&id, outcome);
            });
        }
        let state = self.state.lock().unwrap();
        self.wait_for(
            state,
            &run_id,
            if mode == "sync" { wait } else { Duration::ZERO },
        )
    }

    /// Waits up to `wait` for the run to end, then answers with it.
    fn wait_for(
        &self,
        mut state: std::sync::MutexGuard<'_, State>,
        run_id: &str,
        wait: Duration,
    ) -> Reply {
        let deadline = Instant::now() + wait;
        loop {
            let run = &state.runs[run_id];
            let now = Instant::now();
            if run.terminal() || now >= deadline {
                return self.run_reply(run_id, run);
            }
            state = self.changed.wait_timeout(state, deadline - now).unwrap().0;
        }
    }

    fn get_run(&self, run_id: &str) -> Reply {
        let state = self.state.lock().unwrap();
        match state.runs.get(run_id) {
            Some(run) => (200, self.document(run_id, run), Vec::new()),
            None => problem(
                404,
                "unknown run",
                &format!("no run '{run_id}' on this server"),
                "NOT_FOUND",
                false,
            ),
        }
    }

    fn cancel_run(&self, run_id: &str) -> Reply {
        let state = self.state.lock().unwrap();
        match state.runs.get(run_id) {
            Some(run) if run.terminal() => (200, self.document(run_id, run), Vec::new()),
            Some(run) => {
                run.cancel.store(true, Ordering::Release);
                let (_, doc, headers) = self.run_reply(run_id, run);
                (202, doc, headers)
            }
            None => problem(
                404,
                "unknown run",
                &format!("no run '{run_id}' on this server"),
                "NOT_FOUND",
                false,
            ),
        }
    }

    fn route(self: &Arc<Self>, request: &mut Request) -> Reply {
        if let Some(token) = &self.token {
            let expected = format!("Bearer {token}");
            let given = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Authorization"))
                .map(|h| h.value.as_str());
            if given != Some(expected.as_str()) {
                return problem(
                    401,
                    "unauthorized",
                    "a valid bearer token is required",
                    "UNAVAILABLE",
                    false,
                );
            }
        }
        let path = request.url().split('?').next().unwrap_or("").to_owned();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = request.method().clone();
        match (&method, segments.as_slice()) {
            (Method::Get, ["tasks"]) => {
                let list: Vec<Value> = tasks()
                    .iter()
                    .map(|t| json!({"id": t.id, "description": t.description}))
                    .collect();
                (200, Value::Array(list), Vec::new())
            }
            (Method::Get, ["tasks", id]) => match tasks().into_iter().find(|t| t.id == *id) {
                Some(t) => (
                    200,
                    json!({"id": t.id, "description": t.description, "params": t.params}),
                    Vec::new(),
                ),
                None => problem(
                    404,
                    "unknown task",
                    &format!("no task '{id}' on this server"),
                    "NOT_FOUND",
                    false,
                ),
            },
            (Method::Get, ["v1", "info"]) => (
                200,
                json!({"protocol_versions": [1], "name": "rust-example",
                                                          "version": env!("CARGO_PKG_VERSION"), "runtime": "rust"}),
                Vec::new(),
            ),
            (Method::Get, ["v1", "health"]) => (200, json!({"status": "ok"}), Vec::new()),
            (Method::Post, ["v1", "tasks", id, "runs"]) => {
                let id = id.to_string();
                let key = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Idempotency-Key"))
                    .map(|h| h.value.to_string());
                let Some(key) = key.filter(|k| !k.is_empty()) else {
                    return problem(
                        400,
                        "missing Idempotency-Key",
                        "POST /v1/tasks/{id}/runs needs an Idempotency-Key header",
                        "INVALID_ARGUMENT",
                        false,
                    );
                };
                let mut body = Vec::new();
                if request.as_reader().read_to_end(&mut body).is_err() {
                    return problem(
                        400,
                        "bad request",
                        "the body could not be read",
                        "INVALID_ARGUMENT",
                        false,
                    );
                }
                self.start_run(&id, &key, &body)
            }
            (Method::Get, ["v1", "runs", id]) => self.get_run(id),
            (Method::Post, ["v1", "runs", id, "cancel"]) => self.cancel_run(id),
            (
                _,
                ["tasks"]
                | ["tasks", _]
                | ["v1", "info"]
                | ["v1", "health"]
                | ["v1", "tasks", _, "runs"]
                | ["v1", "runs", _]
                | ["v1", "runs", _, "cancel"],
            ) => problem(
                405,
                "method not allowed",
                &format!("{method} is not allowed on {path}"),
                "UNSUPPORTED",
                false,
            ),
            _ => problem(
                404,
                "not found",
                &format!("no route {path}"),
                "NOT_FOUND",
                false,
            ),
        }
    }
}

fn task_name(task: &Task) -> &'static str {
    match task {
        Task::Wordcount { .. } => "wordcount",
        Task::Panic { .. } => "panic",
    }
}

fn respond(request: Request, (status, body, headers): Reply) {
    let content_type = if status >= 400 {
        "application/problem+json"
    } else {
        "application/json"
    };
    let mut response = Response::from_string(body.to_string())
        .with_status_code(status)
        .with_header(header("Content-Type", content_type));
    for h in headers {
        response.add_header(h);
    }
    let _ = request.respond(response);
}

fn main() {
    let mut listen = "127.0.0.1:8700".to_owned();
    let mut token = std::env::var("CRONYX_TOKEN").ok().filter(|t| !t.is_empty());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(value)) => listen = value,
            ("--token", Some(value)) => token = Some(value),
            _ => {
                eprintln!("error: bad argument {arg} (usage: rust_example_server [--listen HOST:PORT] [--token TOKEN])");
                std::process::exit(2);
            }
        }
    }
    let server = match Server::http(&listen) {
        Ok(server) => Arc::new(server),
        Err(e) => {
            eprintln!("error: cannot listen on {listen} ({e})");
            std::process::exit(2);
        }
    };
    let address = server.server_addr().to_ip().expect("an IP listener");
    println!("listening on http://{address}");
    let _ = std::io::stdout().flush();

    let service = Arc::new(Service {
        state: Mutex::default(),
        changed: Condvar::new(),
        token,
        next_run: AtomicU64::new(1),
    });
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let server = Arc::clone(&server);
            let service = Arc::clone(&service);
            std::thread::spawn(move || {
                for mut request in server.incoming_requests() {
                    let reply = catch_unwind(AssertUnwindSafe(|| service.route(&mut request)))
                        .unwrap_or_else(|_| {
                            problem(
                                500,
                                "internal error",
                                "the server failed on this request",
                                "INTERNAL",
                                true,
                            )
                        });
                    respond(request, reply);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
}
