#include "plugins/in_process_provider.hpp"

namespace cascadence::plugins {

core::result<std::shared_ptr<provider>, std::string> make_in_process_provider(const plugin_file& file,
                                                                              in_process_options) {
  return file.path.string() + ": not implemented";
}

}  // namespace cascadence::plugins
