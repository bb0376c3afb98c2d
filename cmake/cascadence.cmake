# Shared build settings for every Cascadence target.

# One warning policy for the whole tree; -Werror only where CI asks for it.
function(cascadence_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  # GCC 12 false positives: impossible overlaps in std::string concatenation
  # at -O3 (GCC bug 105329), and Asio's coroutine frames, which pair their own
  # operator new and delete, reported as mismatched under the sanitizers.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict -Wno-mismatched-new-delete)
  endif()
  if(CASCADENCE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Boost.Asio settings every TU must agree on (they change type layouts).
add_library(cascadence_asio INTERFACE)
target_compile_definitions(cascadence_asio INTERFACE
  BOOST_ASIO_NO_DEPRECATED
  BOOST_ASIO_DISABLE_BOOST_COROUTINE)

# cascadence_library(<folder> SOURCES ...): one static library per top folder,
# exported as cascadence::<folder>, with the project root as include root.
function(cascadence_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(cascadence_${name} STATIC ${ARG_SOURCES})
  add_library(cascadence::${name} ALIAS cascadence_${name})
  target_include_directories(cascadence_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(cascadence_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  cascadence_warnings(cascadence_${name})
endfunction()
