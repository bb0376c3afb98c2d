//! `#[repr(C)]` mirrors of plugins/cascadence_plugin.h (ABI 1.0), written by
//! hand and kept in this one module. Field order and types follow the header
//! exactly; every struct starts with `struct_size`.
#![allow(dead_code)]

use std::ffi::{c_char, c_void};

pub const ABI_MAJOR: u32 = 1;
pub const ABI_MINOR: u32 = 0;

pub type Status = i32;
pub const STATUS_OK: Status = 0;
pub const STATUS_INVALID_ARGUMENT: Status = 1;
pub const STATUS_NOT_FOUND: Status = 2;
pub const STATUS_CANCELLED: Status = 3;
pub const STATUS_INTERNAL: Status = 6;
pub const STATUS_UNSUPPORTED: Status = 7;

pub type Run = u64;

pub const LOG_ERROR: i32 = 3;
pub const OUTPUT_STDOUT: i32 = 0;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Bytes {
    pub ptr: *const u8,
    pub len: usize,
}

impl Bytes {
    pub const EMPTY: Bytes = Bytes {
        ptr: std::ptr::null(),
        len: 0,
    };

    pub fn of(s: &'static str) -> Bytes {
        Bytes {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// The borrowed bytes as a slice (empty when ptr is NULL).
    ///
    /// # Safety
    /// ptr/len must describe readable memory for the returned lifetime.
    pub unsafe fn as_slice<'a>(&self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(self.ptr, self.len)
        }
    }
}

#[repr(C)]
pub struct Sink {
    pub struct_size: u32,
    pub reserved0: u32,
    pub context: *mut c_void,
    pub write: Option<unsafe extern "C" fn(context: *mut c_void, ptr: *const u8, len: usize)>,
}

#[repr(C)]
pub struct Host {
    pub struct_size: u32,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub reserved0: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub host_data: *mut c_void,
    pub get_extension:
        Option<unsafe extern "C" fn(host: *const Host, id: *const c_char) -> *const c_void>,
    pub log:
        Option<unsafe extern "C" fn(host: *const Host, level: i32, message: *const u8, len: usize)>,
    pub emit_result:
        Option<unsafe extern "C" fn(host: *const Host, run: Run, json: *const u8, len: usize)>,
    pub set_error:
        Option<unsafe extern "C" fn(host: *const Host, run: Run, message: *const u8, len: usize)>,
    pub emit_output: Option<
        unsafe extern "C" fn(host: *const Host, run: Run, stream: i32, line: *const u8, len: usize),
    >,
    pub is_cancelled: Option<unsafe extern "C" fn(host: *const Host, run: Run) -> i32>,
    pub complete: Option<unsafe extern "C" fn(host: *const Host, run: Run, status: Status)>,
}

#[repr(C)]
pub struct Plugin {
    pub struct_size: u32,
    pub reserved0: u32,
    pub info: Option<unsafe extern "C" fn() -> Bytes>,
    pub processor_count: Option<unsafe extern "C" fn() -> u32>,
    pub processor_descriptor: Option<unsafe extern "C" fn(index: u32) -> Bytes>,
    pub create: Option<
        unsafe extern "C" fn(
            index: u32,
            params: Bytes,
            instance: *mut *mut c_void,
            error: *const Sink,
        ) -> Status,
    >,
    pub destroy: Option<unsafe extern "C" fn(instance: *mut c_void)>,
    pub start:
        Option<unsafe extern "C" fn(instance: *mut c_void, run: Run, input: Bytes) -> Status>,
    pub cancel: Option<unsafe extern "C" fn(instance: *mut c_void, run: Run)>,
    pub get_extension: Option<unsafe extern "C" fn(id: *const c_char) -> *const c_void>,
}

#[repr(C)]
pub struct Entry {
    pub struct_size: u32,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub reserved0: u32,
    pub init: Option<unsafe extern "C" fn(host: *const Host) -> Status>,
    pub deinit: Option<unsafe extern "C" fn()>,
    pub get_plugin: Option<unsafe extern "C" fn() -> *const Plugin>,
}

// The entry and the table are immutable statics of plain data and function
// pointers: safe to share between threads.
unsafe impl Sync for Entry {}
unsafe impl Sync for Plugin {}
