# Compiler launcher, warnings and sanitizers for every govpool target.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

add_library(govpool_warnings INTERFACE)
target_compile_options(govpool_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(govpool_warnings INTERFACE -Wshadow=local)
endif()
if(GOVPOOL_WERROR)
  target_compile_options(govpool_warnings INTERFACE -Werror)
endif()

if(GOVPOOL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12's -Wmaybe-uninitialized misfires on ASan-instrumented code (e.g. inside
    # std::regex), which -Werror would turn into a failed build; the plain build keeps it.
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
endif()

# GOVPOOL_TSAN: ThreadSanitizer, for the tests of concurrent code (scripts/test.sh builds only
# those). It cannot share a build with ASan.
if(GOVPOOL_TSAN)
  if(GOVPOOL_SANITIZE)
    message(FATAL_ERROR "GOVPOOL_TSAN and GOVPOOL_SANITIZE exclude each other")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()

# GOVPOOL_FUZZ (Clang only, with GOVPOOL_SANITIZE): every object carries libFuzzer's coverage
# instrumentation, so one sanitizer build serves both the unit tests and the fuzz targets
# (tests/fuzz/) instead of CI compiling the code twice.
if(GOVPOOL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "GOVPOOL_FUZZ needs Clang (libFuzzer): configure with CXX=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# govpool_add_library(name SOURCES... DEPS...): a folder's library with house warnings.
function(govpool_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE govpool_warnings ${ARG_PRIVATE_DEPS})
endfunction()
