# cmake --install of the build into PREFIX, then examples/embed configured
# and built as a standalone project against it (find_package(Cascadence)),
# then run: it exits 0 when its graph succeeded. Every installed public
# header must also stand on its own with only the prefix on the include path.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd)
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})

file(GLOB_RECURSE headers RELATIVE ${PREFIX}/include ${PREFIX}/include/*.hpp ${PREFIX}/include/*.h)
list(LENGTH headers count)
if(count EQUAL 0)
  message(FATAL_ERROR "no header installed under ${PREFIX}/include")
endif()
foreach(header IN LISTS headers)
  if(header MATCHES "/detail/")
    continue()
  endif()
  file(WRITE ${WORK_DIR}/header_check.cpp "#include \"${header}\"\n")
  run(${COMPILER} -std=c++20 -E -o /dev/null -I${PREFIX}/include ${WORK_DIR}/header_check.cpp)
endforeach()
message(STATUS "${count} installed headers preprocess against the prefix alone")

string(REPLACE "|" ";" launcher "${LAUNCHER}")
run(${CMAKE_COMMAND} -S ${EXAMPLE_DIR} -B ${WORK_DIR}/embed -G ${GENERATOR}
  -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_CXX_COMPILER=${COMPILER} -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}"
  "-DCMAKE_CXX_COMPILER_LAUNCHER=${launcher}")
run(${CMAKE_COMMAND} --build ${WORK_DIR}/embed)
execute_process(COMMAND ${WORK_DIR}/embed/cascadence-embed-example RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message(STATUS "${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the embed example against the install exited ${rc}")
endif()
