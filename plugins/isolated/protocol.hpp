#pragma once

// The pipe protocol between Cascadence and a plugin host process
// (cascadence-plugin-host), spoken over the child's standard input (parent to
// child) and standard output (child to parent). The child's standard error is
// free text: the parent logs each line with the plugin's name in front.
//
// Framing: every message is one frame, a 4-byte little-endian length N
// followed by N bytes of UTF-8 JSON, one object with an "op" member. N is at
// most max_frame_bytes; a bigger or unparsable frame breaks the connection
// (the parent kills the child, the child exits). Length-prefixed rather than
// newline-delimited so that a frame is read without scanning it, and so that
// nothing a plugin prints can be mistaken for one: the child moves the
// protocol to private descriptors and points its own fd 1 at fd 2 before it
// loads the plugin.
//
// Parent to child (no reply unless said):
//   {"op":"create","instance":I,"index":X,"params":P}
//       -> {"op":"created","instance":I}
//        | {"op":"create_failed","instance":I,"error":"the plugin's message"}
//     I is the parent's id for the instance (never 0, never reused by one
//     parent); X the processor's index in the plugin's table.
//   {"op":"destroy","instance":I}
//   {"op":"start","instance":I,"run":R,"input":INPUT}
//       -> {"op":"complete",...} exactly once for R (also when start()
//          refused it, with "refused":true)
//     R is the parent's run token (never 0, never reused by one parent).
//   {"op":"cancel","run":R}
//     The child sets is_cancelled(R) and calls the plugin's cancel(); the
//     parent has stopped waiting and discards R's complete.
// Closing the child's standard input asks it to stop: it cancels the runs in
// flight, gives them a moment, destroys the instances, deinit()s, exits 0.
//
// Child to parent:
//   {"op":"hello","pid":PID,"plugin":{"name","version","runtime",
//    "description","unload_safe","abi_major","abi_minor"},
//    "processors":[{"index","name","description","blocking"}, ...]}
//     first frame, once the plugin is loaded and init() succeeded;
//   {"op":"fatal","error":"<path>: <reason>"}
//     instead of hello when the plugin does not load; the child then exits 2;
//   {"op":"output","run":R,"stream":0|1,"line":"..."}   emit_output()
//   {"op":"log","level":L,"message":"..."}               host->log()
//   {"op":"complete","run":R,"status":S,"result":"TEXT"?,"error":"..."?,
//    "refused":true?}
//     the attempt's end: S is the cascadence_status_t, "result" the text
//     emit_result() set last (absent: none; the parent parses it, as the
//     in-process host does, so both report a non-JSON result alike),
//     "error" what set_error() set last, "refused" when start() returned
//     S itself (complete() was not called).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cascadence::plugins::isolated {

/// The largest frame either side accepts (params, inputs and results are
/// JSON texts of at most this size once framed).
inline constexpr std::size_t max_frame_bytes = 64U << 20U;

/// Appends one frame carrying `json` to `out`.
void append_frame(std::string& out, std::string_view json);

/// Cuts a byte stream into frames. Not thread-safe.
class frame_reader final {
 public:
  /// Appends bytes read from the pipe.
  void feed(const char* data, std::size_t size) { buffer_.append(data, size); }

  /// The next complete frame's JSON text (valid until the next call of any
  /// member), nullopt when more bytes are needed. Throws std::runtime_error
  /// when the next frame announces more than max_frame_bytes.
  [[nodiscard]] std::optional<std::string_view> next();

  /// Bytes buffered but not yet returned as frames.
  [[nodiscard]] std::size_t buffered() const noexcept { return buffer_.size() - start_; }

 private:
  std::string buffer_;
  std::size_t start_ = 0;
};

}  // namespace cascadence::plugins::isolated
