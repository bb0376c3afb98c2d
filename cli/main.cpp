#include "cli/cli.hpp"

int main(int argc, char** argv) {
  return cascadence::cli::main({argv + 1, argv + argc});
}
