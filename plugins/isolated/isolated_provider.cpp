// A stand-in until helper "isolated" lands the plugin host process: this file is replaced whole.
#include "plugins/isolated/isolated_provider.hpp"

namespace cascadence::plugins {

core::result<std::shared_ptr<provider>, std::string> make_isolated_provider(const plugin_file& /*file*/,
                                                                            isolated_options /*options*/) {
  return std::string("isolation: process is not built yet");
}

}  // namespace cascadence::plugins
