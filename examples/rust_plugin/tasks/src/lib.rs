//! The tasks of the Rust examples, once: the native plugin (`rust_example`)
//! and the remote server (`rust_example_server`) both call these.
//!
//! - `wordcount`: words of `params.text`, or of every string output of the
//!   task's dependencies; `{"words": N, "top": [["word", n], ...]}` with at
//!   most `params.top` (default 3) entries, ties broken alphabetically.
//!   `params.delay_ms` (optional) waits first, in cancellable slices.
//! - `panic`: panics on purpose (`params.message`), to show that a panic
//!   becomes an INTERNAL error and never crosses into the host.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The status names of the ABI and of the remote protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    InvalidArgument = 1,
    NotFound = 2,
    Cancelled = 3,
    Internal = 6,
}

impl Code {
    pub fn name(self) -> &'static str {
        match self {
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::NotFound => "NOT_FOUND",
            Code::Cancelled => "CANCELLED",
            Code::Internal => "INTERNAL",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    pub code: Code,
    pub message: String,
}

impl TaskError {
    fn invalid(message: String) -> Self {
        TaskError {
            code: Code::InvalidArgument,
            message,
        }
    }
}

/// One task as both sides describe it.
pub struct TaskInfo {
    /// The remote id ("wordcount"); the native processor is "rust_example.<id>".
    pub id: &'static str,
    pub description: &'static str,
    pub params: Value,
}

pub const PLUGIN_NAME: &str = "rust_example";

pub fn tasks() -> Vec<TaskInfo> {
    vec![
        TaskInfo {
            id: "wordcount",
            description: "Counts the words of params.text, or of every string output of the task's dependencies",
            params: json!({"type": "object", "properties": {
                "text": {"type": "string"},
                "top": {"type": "integer", "minimum": 0, "default": 3},
                "delay_ms": {"type": "integer", "minimum": 0}}}),
        },
        TaskInfo {
            id: "panic",
            description: "Panics on purpose: the panic becomes an INTERNAL error",
            params: json!({"type": "object", "properties": {"message": {"type": "string"}}}),
        },
    ]
}

/// A task's parsed params: what create() keeps, what the server validates
/// before it starts a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    Wordcount {
        text: Option<String>,
        top: usize,
        delay_ms: u64,
    },
    Panic {
        message: String,
    },
}

fn object<'a>(
    name: &str,
    params: &'a Value,
) -> Result<Option<&'a serde_json::Map<String, Value>>, TaskError> {
    match params {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        _ => Err(TaskError::invalid(format!(
            "{PLUGIN_NAME}.{name}: params must be an object"
        ))),
    }
}

fn member<'a>(map: Option<&'a serde_json::Map<String, Value>>, key: &str) -> Option<&'a Value> {
    map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
}

fn string_member(
    name: &str,
    map: Option<&serde_json::Map<String, Value>>,
    key: &str,
) -> Result<Option<String>, TaskError> {
    match member(map, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(TaskError::invalid(format!(
            "{PLUGIN_NAME}.{name}: `{key}` must be a string"
        ))),
    }
}

fn count_member(
    name: &str,
    map: Option<&serde_json::Map<String, Value>>,
    key: &str,
    default: u64,
) -> Result<u64, TaskError> {
    match member(map, key) {
        None => Ok(default),
        Some(v) => v.as_u64().ok_or_else(|| {
            TaskError::invalid(format!(
                "{PLUGIN_NAME}.{name}: `{key}` must be a non-negative integer"
            ))
        }),
    }
}

impl Task {
    /// Parses `params` for the task `id`; None when there is no such task.
    pub fn parse(id: &str, params: &Value) -> Option<Result<Task, TaskError>> {
        Some(match id {
            "wordcount" => object(id, params).and_then(|map| {
                Ok(Task::Wordcount {
                    text: string_member(id, map, "text")?,
                    top: count_member(id, map, "top", 3)? as usize,
                    delay_ms: count_member(id, map, "delay_ms", 0)?,
                })
            }),
            "panic" => object(id, params).and_then(|map| {
                Ok(Task::Panic {
                    message: string_member(id, map, "message")?
                        .unwrap_or_else(|| "on purpose".to_owned()),
                })
            }),
            _ => return None,
        })
    }

    /// Whether run() waits: the native plugin then runs it on a thread.
    pub fn waits(&self) -> bool {
        matches!(self, Task::Wordcount { delay_ms, .. } if *delay_ms > 0)
    }

    /// Runs the task on `input` ({"task", "input", "dependencies"}).
    /// `stop` is polled while waiting; true ends the run as CANCELLED.
    pub fn run(&self, input: &Value, stop: &dyn Fn() -> bool) -> Result<Value, TaskError> {
        match self {
            Task::Wordcount {
                text,
                top,
                delay_ms,
            } => {
                let until = Instant::now() + Duration::from_millis(*delay_ms);
                while !stop() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(10).min(until - Instant::now()));
                }
                if stop() {
                    return Err(TaskError {
                        code: Code::Cancelled,
                        message: "rust_example.wordcount: cancelled".into(),
                    });
                }
                let texts: Vec<&str> = match text {
                    Some(t) => vec![t.as_str()],
                    None => dependency_strings(input),
                };
                Ok(wordcount(&texts, *top))
            }
            Task::Panic { message } => panic!("{message}"),
        }
    }
}

fn dependency_strings(input: &Value) -> Vec<&str> {
    match input.get("dependencies") {
        Some(Value::Object(deps)) => deps.values().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Words are runs of ASCII letters, digits and apostrophes, compared in
/// lower case; everything else separates them.
pub fn wordcount(texts: &[&str], top: usize) -> Value {
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut words = 0u64;
    for text in texts {
        for word in text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '\''))
            .filter(|w| !w.is_empty())
        {
            words += 1;
            *counts.entry(word.to_ascii_lowercase()).or_default() += 1;
        }
    }
    let mut ranked: Vec<(String, u64)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(top);
    json!({"words": words, "top": ranked.into_iter().map(|(w, n)| json!([w, n])).collect::<Vec<_>>()})
}

/// The text of a panic's payload (panic!("...") gives a &str or a String).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never() -> bool {
        false
    }

    #[test]
    fn counts_and_ranks_with_alphabetical_ties() {
        let v = wordcount(&["pear apple fig pear Apple fig kiwi"], 2);
        assert_eq!(v, json!({"words": 7, "top": [["apple", 2], ["fig", 2]]}));
    }

    #[test]
    fn punctuation_separates_and_apostrophes_stay() {
        let v = wordcount(&["it's the cat's hat, the hat!"], 3);
        assert_eq!(
            v,
            json!({"words": 6, "top": [["hat", 2], ["the", 2], ["cat's", 1]]})
        );
    }

    #[test]
    fn dependencies_strings_only() {
        let task = Task::parse("wordcount", &json!({})).unwrap().unwrap();
        let input =
            json!({"task": "t", "input": null, "dependencies": {"a": "x y", "b": 3, "c": "y"}});
        assert_eq!(
            task.run(&input, &never).unwrap(),
            json!({"words": 3, "top": [["y", 2], ["x", 1]]})
        );
    }

    #[test]
    fn bad_params_are_refused_with_their_message() {
        let err = Task::parse("wordcount", &json!({"text": 1}))
            .unwrap()
            .unwrap_err();
        assert_eq!(
            err.message,
            "rust_example.wordcount: `text` must be a string"
        );
        let err = Task::parse("wordcount", &json!({"top": -1}))
            .unwrap()
            .unwrap_err();
        assert_eq!(
            err.message,
            "rust_example.wordcount: `top` must be a non-negative integer"
        );
        let err = Task::parse("wordcount", &json!([1])).unwrap().unwrap_err();
        assert_eq!(
            err.message,
            "rust_example.wordcount: params must be an object"
        );
        assert!(Task::parse("nope", &json!({})).is_none());
    }

    #[test]
    fn a_delay_ends_early_when_stopped() {
        let task = Task::parse("wordcount", &json!({"text": "a", "delay_ms": 600000}))
            .unwrap()
            .unwrap();
        let err = task.run(&json!({}), &|| true).unwrap_err();
        assert_eq!(err.code, Code::Cancelled);
    }

    #[test]
    fn the_panic_task_panics_with_its_message() {
        let task = Task::parse("panic", &json!({"message": "boom"}))
            .unwrap()
            .unwrap();
        let payload = std::panic::catch_unwind(|| task.run(&json!({}), &never)).unwrap_err();
        assert_eq!(panic_message(payload.as_ref()), "boom");
    }
}
