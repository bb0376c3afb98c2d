// The host of the unit tests' precompiled header (tests/CMakeLists.txt).
