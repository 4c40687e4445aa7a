# govpool_add_test(name SOURCES ... DEPS ... LABELS unit|integration|e2e [concurrency] [TIMEOUT s])
# "concurrency": the test exercises threads; CI runs it again in a ThreadSanitizer build.
# One ctest test per executable (no discovery step at build time: it costs build minutes).
# The test's own sources compile at -O0 whatever the build type: the code under test lives in
# the libraries, built as configured, while a test body is straight-line gtest macros that GCC
# takes twice as long to compile at -O2 for no gain (network_services_test.cc: 17 s against 8 s).
function(govpool_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE -O0)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest GTest::gtest_main
                        govpool_warnings)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
endfunction()

# Adds `dir` when it has a CMakeLists.txt (folders owned by work in progress).
macro(govpool_add_subdirectory_if_present dir)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/CMakeLists.txt)
    add_subdirectory(${dir})
  endif()
endmacro()
