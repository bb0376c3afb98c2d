# Shared build settings for every Cascadence target.
include(GNUInstallDirs)

# ccache as the compiler launcher. The presets ask for it with
# CMAKE_CXX_COMPILER_LAUNCHER=ccache (scripts/setup installs it); without it
# installed the build still works, uncached, after a loud warning. Turn it
# off with -DCMAKE_CXX_COMPILER_LAUNCHER= . The settings travel with the
# launcher (env ... ccache) so they hold for `ninja` run by hand too:
# base_dir makes paths below the checkout relative, so two checkouts (or CI's
# fresh clone) share hits; include_file_mtime/ctime let a fresh clone's new
# timestamps hit, pch_defines and time_macros are what precompiled headers
# need (none today: tests/CMakeLists.txt measured one as no gain).
# The cache itself is ccache's default (~/.cache/ccache, or $CCACHE_DIR).
if(CMAKE_CXX_COMPILER_LAUNCHER MATCHES "(^|/)ccache$")
  find_program(CASCADENCE_CCACHE_PROGRAM NAMES ${CMAKE_CXX_COMPILER_LAUNCHER})
  find_program(CASCADENCE_ENV_PROGRAM env)
  if(CASCADENCE_CCACHE_PROGRAM AND CASCADENCE_ENV_PROGRAM)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${CASCADENCE_ENV_PROGRAM}
      CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${CASCADENCE_CCACHE_PROGRAM})
  else()
    message(WARNING "ccache not found: building without a compiler cache (scripts/setup installs it; "
                    "-DCMAKE_CXX_COMPILER_LAUNCHER= silences this)")
    set(CMAKE_CXX_COMPILER_LAUNCHER "")
  endif()
endif()

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

# Boost.Asio and Boost.Beast compiled once (cmake/boost_asio.cpp,
# cmake/boost_beast.cpp) instead of in every translation unit that includes
# them: every TU that includes Asio must see the same macros, so they travel
# with cascadence_asio, which every target using Asio links. The macros also
# change type layouts, which is why they are one INTERFACE target's business.
add_library(cascadence_boost_asio STATIC
  ${CMAKE_CURRENT_LIST_DIR}/boost_asio.cpp
  ${CMAKE_CURRENT_LIST_DIR}/boost_beast.cpp)
target_compile_definitions(cascadence_boost_asio PUBLIC
  BOOST_ASIO_NO_DEPRECATED
  BOOST_ASIO_DISABLE_BOOST_COROUTINE
  BOOST_ASIO_SEPARATE_COMPILATION
  BOOST_BEAST_SEPARATE_COMPILATION)
target_link_libraries(cascadence_boost_asio PUBLIC Boost::headers OpenSSL::SSL OpenSSL::Crypto Threads::Threads)
target_compile_features(cascadence_boost_asio PUBLIC cxx_std_20)
set_target_properties(cascadence_boost_asio PROPERTIES EXPORT_NAME boost_asio)

add_library(cascadence_asio INTERFACE)
target_link_libraries(cascadence_asio INTERFACE cascadence_boost_asio)
set_target_properties(cascadence_asio PROPERTIES EXPORT_NAME asio)

# Boost.JSON compiled from its headers into one static library, in place of
# Debian's libboost_json.so (Boost documents this use: src.hpp in exactly one
# translation unit). Parsing and freeing a webhook's 1 KiB payload through
# the shared library (-fPIC, every call through the PLT) cost the webhook
# benchmark about 4 us of server CPU per request (38 -> 34 us). Nothing may
# link Boost::json as well: two copies of Boost.JSON in one binary break the
# one-definition rule. It takes the build's optimisation and sanitizer
# flags; it is Boost's code, so not our warning flags (the same holds for
# cascadence_boost_asio).
add_library(cascadence_boost_json STATIC ${CMAKE_CURRENT_LIST_DIR}/boost_json.cpp)
target_link_libraries(cascadence_boost_json PUBLIC Boost::headers)
set_target_properties(cascadence_boost_json PROPERTIES EXPORT_NAME boost_json)

install(TARGETS cascadence_boost_asio cascadence_asio cascadence_boost_json
  EXPORT CascadenceTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

# cascadence_include_root(<folder> <out-var>): a directory of the build tree
# holding one symlink, <folder> -> the source folder, so that putting it on an
# include path makes "<folder>/x.hpp" visible and nothing else of the tree.
# The source root itself is on no include path: a target sees only the
# folders of the targets it links, and an include across the architecture's
# arrows fails to compile ("net/http_server.hpp: No such file or directory").
function(cascadence_include_root folder out_var)
  set(root ${CMAKE_BINARY_DIR}/include-roots/${folder})
  file(MAKE_DIRECTORY ${root})
  if(NOT IS_SYMLINK ${root}/${folder})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${folder} ${root}/${folder} SYMBOLIC)
  endif()
  set(${out_var} ${root} PARENT_SCOPE)
endfunction()

# cascadence_library(<folder> SOURCES ... PUBLIC_DEPS ... PRIVATE_DEPS ...):
# one static library per top folder, cascadence::<folder>, whose include root
# shows only <folder>/ (see cascadence_include_root). Dependencies on other
# Cascadence libraries go in PUBLIC_DEPS when the public headers include
# them, else in PRIVATE_DEPS; that list *is* the layering. The library, its
# public headers (all but detail/) and its exported target are installed.
function(cascadence_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(cascadence_${name} STATIC ${ARG_SOURCES})
  add_library(cascadence::${name} ALIAS cascadence_${name})
  set_target_properties(cascadence_${name} PROPERTIES EXPORT_NAME ${name})
  cascadence_include_root(${name} root)
  target_include_directories(cascadence_${name} PUBLIC
    $<BUILD_INTERFACE:${root}> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(cascadence_${name} PUBLIC cxx_std_20)
  target_link_libraries(cascadence_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  cascadence_warnings(cascadence_${name})
  install(TARGETS cascadence_${name} EXPORT CascadenceTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${name}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${name}
    FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h" PATTERN "detail" EXCLUDE)
  set_property(GLOBAL APPEND PROPERTY CASCADENCE_LIBRARIES ${name})
endfunction()
