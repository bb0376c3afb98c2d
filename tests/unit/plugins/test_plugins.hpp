#pragma once

// The test plugins built by tests/plugins/CMakeLists.txt, and a scratch directory per test.

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace cascadence::test {

inline std::filesystem::path test_plugin(const std::string& name) {
  return std::filesystem::path(CASCADENCE_TEST_PLUGIN_DIR) / (name + ".so");
}

/// A fresh private directory (mode 0700), removed with its contents at the end of the test.
class scratch_dir final {
 public:
  scratch_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cascadence-plugins-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace cascadence::test
