# Runs BENCH (cascadence-bench, or python3 and a script) with ARGS and pipes its stdout into
# `bench-table --check --expect EXPECT`; fails unless both exit 0.
# Usage: cmake -DBENCH=... -DARGS=... -DEXPECT=... -DPYTHON=... -DTABLE=... -P smoke_test.cmake
foreach(var BENCH ARGS EXPECT PYTHON TABLE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "smoke_test.cmake needs -D${var}=...")
  endif()
endforeach()

execute_process(
  COMMAND ${BENCH} ${ARGS}
  COMMAND ${PYTHON} ${TABLE} --check --expect ${EXPECT}
  RESULTS_VARIABLE results)
list(LENGTH results count)
if(NOT count EQUAL 2)
  message(FATAL_ERROR "expected two exit statuses, got '${results}'")
endif()
list(GET results 0 bench_status)
list(GET results 1 check_status)
if(NOT bench_status EQUAL 0)
  message(FATAL_ERROR "${BENCH} failed (exit status ${bench_status})")
endif()
if(NOT check_status EQUAL 0)
  message(FATAL_ERROR "bench-table --check rejected the output (exit status ${check_status})")
endif()
