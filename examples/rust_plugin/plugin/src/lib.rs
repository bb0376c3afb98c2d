//! rust_example: a native Cascadence plugin in Rust (a `cdylib`). The one
//! exported symbol is `cascadence_plugin_entry`; every function the host can
//! call runs inside `catch_unwind`, so a panic becomes INTERNAL with its
//! message and never unwinds into the host (the functions are plain
//! `extern "C"`, never "C-unwind").

mod abi;

use abi::{Bytes, Entry, Host, Plugin, Run, Sink, Status};
use rust_example_tasks::{panic_message, tasks, Task, TaskError, PLUGIN_NAME};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

// ---- the host, between init() and deinit()

static HOST: AtomicPtr<Host> = AtomicPtr::new(std::ptr::null_mut());
static INIT_COUNT: Mutex<u32> = Mutex::new(0);

/// The host table; only called between init() and deinit(), when it is set.
fn host() -> &'static Host {
    // SAFETY: the host keeps the table valid until the matching deinit().
    unsafe { &*HOST.load(Ordering::Acquire) }
}

fn log_error(message: &str) {
    let host_ptr = HOST.load(Ordering::Acquire);
    if host_ptr.is_null() {
        return;
    }
    if let Some(log) = host().log {
        // SAFETY: a valid host table and a borrowed message.
        unsafe { log(host_ptr, abi::LOG_ERROR, message.as_ptr(), message.len()) }
    }
}

fn emit_result(run: Run, value: &Value) {
    let text = value.to_string();
    if let Some(f) = host().emit_result {
        unsafe { f(host(), run, text.as_ptr(), text.len()) }
    }
}

fn set_error(run: Run, message: &str) {
    if let Some(f) = host().set_error {
        unsafe { f(host(), run, message.as_ptr(), message.len()) }
    }
}

fn emit_output(run: Run, line: &str) {
    if let Some(f) = host().emit_output {
        unsafe { f(host(), run, abi::OUTPUT_STDOUT, line.as_ptr(), line.len()) }
    }
}

fn is_cancelled(run: Run) -> bool {
    host()
        .is_cancelled
        .map(|f| unsafe { f(host(), run) } != 0)
        .unwrap_or(false)
}

fn complete(run: Run, status: Status) {
    if let Some(f) = host().complete {
        unsafe { f(host(), run, status) }
    }
}

fn status_of(error: &TaskError) -> Status {
    error.code as Status
}

// ---- texts the host reads (plugin-owned, built once, never freed)

fn processor_name(id: &str) -> String {
    format!("{PLUGIN_NAME}.{id}")
}

fn info_text() -> &'static str {
    static INFO: OnceLock<String> = OnceLock::new();
    INFO.get_or_init(|| {
        json!({"name": PLUGIN_NAME, "version": env!("CARGO_PKG_VERSION"), "runtime": "rust",
               "description": "Word counts (and a panic that becomes an error), in Rust", "unload_safe": false})
        .to_string()
    })
}

fn descriptor_texts() -> &'static [String] {
    static DESCRIPTORS: OnceLock<Vec<String>> = OnceLock::new();
    DESCRIPTORS.get_or_init(|| {
        tasks()
            .into_iter()
            .map(|t| {
                json!({"name": processor_name(t.id), "description": t.description, "blocking": false,
                       "params": t.params})
                .to_string()
            })
            .collect()
    })
}

// ---- instances and runs

struct Instance {
    id: &'static str,
    task: Task,
    /// Runs on threads of ours, not yet completed: their cancel flags.
    running: Arc<Mutex<HashMap<Run, Arc<AtomicBool>>>>,
}

fn start_run(instance: &Instance, run: Run, input: &[u8]) -> Result<(), TaskError> {
    let input: Value = serde_json::from_slice(input).map_err(|e| TaskError {
        code: rust_example_tasks::Code::InvalidArgument,
        message: format!(
            "{}: the input is not JSON ({e})",
            processor_name(instance.id)
        ),
    })?;
    if !instance.task.waits() {
        // At once: complete() before start() returns.
        let status = match instance.task.run(&input, &|| is_cancelled(run)) {
            Ok(result) => {
                emit_result(run, &result);
                abi::STATUS_OK
            }
            Err(e) => {
                set_error(run, &e.message);
                status_of(&e)
            }
        };
        complete(run, status);
        return Ok(());
    }
    // A run that waits gets a thread of its own; cancel() and is_cancelled()
    // both stop it.
    let flag = Arc::new(AtomicBool::new(false));
    instance.running.lock().unwrap().insert(run, flag.clone());
    let running = instance.running.clone();
    let task = instance.task.clone();
    let name = processor_name(instance.id);
    std::thread::spawn(move || {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            emit_output(run, &format!("{name}: waiting"));
            task.run(&input, &|| {
                flag.load(Ordering::Acquire) || is_cancelled(run)
            })
        }));
        let status = match outcome {
            Ok(Ok(result)) => {
                emit_result(run, &result);
                abi::STATUS_OK
            }
            Ok(Err(e)) => {
                set_error(run, &e.message);
                status_of(&e)
            }
            Err(payload) => {
                set_error(
                    run,
                    &format!("{name}: panicked: {}", panic_message(payload.as_ref())),
                );
                abi::STATUS_INTERNAL
            }
        };
        // Forgotten before complete(): a racing cancel() then finds nothing.
        running.lock().unwrap().remove(&run);
        complete(run, status);
    });
    Ok(())
}

// ---- the exports

unsafe extern "C" fn plugin_info() -> Bytes {
    catch_unwind(|| Bytes::of(info_text())).unwrap_or(Bytes::EMPTY)
}

unsafe extern "C" fn plugin_processor_count() -> u32 {
    catch_unwind(|| descriptor_texts().len() as u32).unwrap_or(0)
}

unsafe extern "C" fn plugin_processor_descriptor(index: u32) -> Bytes {
    catch_unwind(|| {
        descriptor_texts()
            .get(index as usize)
            .map(|s| Bytes::of(s.as_str()))
            .unwrap_or(Bytes::EMPTY)
    })
    .unwrap_or(Bytes::EMPTY)
}

unsafe fn write_sink(sink: *const Sink, message: &str) {
    if let Some(sink) = sink.as_ref() {
        if let Some(write) = sink.write {
            write(sink.context, message.as_ptr(), message.len());
        }
    }
}

unsafe extern "C" fn plugin_create(
    index: u32,
    params: Bytes,
    instance: *mut *mut c_void,
    error: *const Sink,
) -> Status {
    let outcome = catch_unwind(AssertUnwindSafe(
        || -> Result<Box<Instance>, (Status, String)> {
            let list = tasks();
            let info = list.get(index as usize).ok_or((
                abi::STATUS_NOT_FOUND,
                format!("{PLUGIN_NAME}: no processor {index}"),
            ))?;
            let name = processor_name(info.id);
            let params: Value = serde_json::from_slice(params.as_slice()).map_err(|e| {
                (
                    abi::STATUS_INVALID_ARGUMENT,
                    format!("{name}: params are not JSON ({e})"),
                )
            })?;
            let task = Task::parse(info.id, &params)
                .expect("every listed task parses")
                .map_err(|e| (status_of(&e), e.message))?;
            Ok(Box::new(Instance {
                id: info.id,
                task,
                running: Arc::default(),
            }))
        },
    ));
    match outcome {
        Ok(Ok(boxed)) => {
            *instance = Box::into_raw(boxed).cast();
            abi::STATUS_OK
        }
        Ok(Err((status, message))) => {
            write_sink(error, &message);
            status
        }
        Err(payload) => {
            write_sink(
                error,
                &format!(
                    "{PLUGIN_NAME}: create panicked: {}",
                    panic_message(payload.as_ref())
                ),
            );
            abi::STATUS_INTERNAL
        }
    }
}

unsafe extern "C" fn plugin_destroy(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // The host drains runs first; a thread still ending after its complete()
    // holds only its own clones, never the instance.
    if catch_unwind(|| drop(Box::from_raw(instance.cast::<Instance>()))).is_err() {
        log_error("destroy panicked");
    }
}

unsafe extern "C" fn plugin_start(instance: *mut c_void, run: Run, input: Bytes) -> Status {
    let instance = &*instance.cast::<Instance>();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        start_run(instance, run, input.as_slice())
    }));
    match outcome {
        Ok(Ok(())) => abi::STATUS_OK,
        Ok(Err(e)) => {
            set_error(run, &e.message);
            status_of(&e)
        }
        Err(payload) => {
            // The panic came before complete(): the attempt fails at once.
            let message = format!(
                "{}: panicked: {}",
                processor_name(instance.id),
                panic_message(payload.as_ref())
            );
            let _ = catch_unwind(|| set_error(run, &message));
            abi::STATUS_INTERNAL
        }
    }
}

unsafe extern "C" fn plugin_cancel(instance: *mut c_void, run: Run) {
    let instance = &*instance.cast::<Instance>();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if let Some(flag) = instance.running.lock().unwrap().get(&run) {
            flag.store(true, Ordering::Release);
        }
    }));
    if outcome.is_err() {
        log_error("cancel panicked");
    }
}

unsafe extern "C" fn plugin_get_extension(_id: *const c_char) -> *const c_void {
    std::ptr::null()
}

static PLUGIN: Plugin = Plugin {
    struct_size: std::mem::size_of::<Plugin>() as u32,
    reserved0: 0,
    info: Some(plugin_info),
    processor_count: Some(plugin_processor_count),
    processor_descriptor: Some(plugin_processor_descriptor),
    create: Some(plugin_create),
    destroy: Some(plugin_destroy),
    start: Some(plugin_start),
    cancel: Some(plugin_cancel),
    get_extension: Some(plugin_get_extension),
};

unsafe extern "C" fn entry_init(host: *const Host) -> Status {
    catch_unwind(|| {
        let Some(h) = host.as_ref() else {
            return abi::STATUS_INVALID_ARGUMENT;
        };
        if h.abi_major != abi::ABI_MAJOR {
            return abi::STATUS_UNSUPPORTED;
        }
        let mut count = INIT_COUNT.lock().unwrap_or_else(|e| e.into_inner());
        HOST.store(host.cast_mut(), Ordering::Release);
        *count += 1;
        abi::STATUS_OK
    })
    .unwrap_or(abi::STATUS_INTERNAL)
}

unsafe extern "C" fn entry_deinit() {
    let _ = catch_unwind(|| {
        let mut count = INIT_COUNT.lock().unwrap_or_else(|e| e.into_inner());
        if *count > 0 {
            *count -= 1;
            if *count == 0 {
                HOST.store(std::ptr::null_mut(), Ordering::Release);
            }
        }
    });
}

unsafe extern "C" fn entry_get_plugin() -> *const Plugin {
    catch_unwind(|| {
        let count = INIT_COUNT.lock().unwrap_or_else(|e| e.into_inner());
        if *count > 0 {
            &PLUGIN as *const Plugin
        } else {
            std::ptr::null()
        }
    })
    .unwrap_or(std::ptr::null())
}

/// The one exported symbol.
#[no_mangle]
pub static cascadence_plugin_entry: Entry = Entry {
    struct_size: std::mem::size_of::<Entry>() as u32,
    abi_major: abi::ABI_MAJOR,
    abi_minor: abi::ABI_MINOR,
    reserved0: 0,
    init: Some(entry_init),
    deinit: Some(entry_deinit),
    get_plugin: Some(entry_get_plugin),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirrors_have_the_header_sizes() {
        // x86-64/aarch64 sizes of the header's structs.
        assert_eq!(std::mem::size_of::<Bytes>(), 16);
        assert_eq!(std::mem::size_of::<Sink>(), 24);
        assert_eq!(std::mem::size_of::<Host>(), 96);
        assert_eq!(std::mem::size_of::<Plugin>(), 72);
        assert_eq!(std::mem::size_of::<Entry>(), 40);
    }

    #[test]
    fn descriptors_name_every_task() {
        let names: Vec<String> = descriptor_texts()
            .iter()
            .map(|d| {
                serde_json::from_str::<Value>(d).unwrap()["name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(names, ["rust_example.wordcount", "rust_example.panic"]);
    }

    #[test]
    fn get_plugin_is_null_before_init() {
        assert!(unsafe { entry_get_plugin() }.is_null());
    }
}
