# Compiler launcher, warnings and sanitizers for every govpool target.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

add_library(govpool_warnings INTERFACE)
target_compile_options(govpool_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wimplicit-fallthrough)
if(GOVPOOL_WERROR)
  target_compile_options(govpool_warnings INTERFACE -Werror)
endif()

if(GOVPOOL_SANITIZE)
  # GCC 12's -Wmaybe-uninitialized misfires on ASan-instrumented code (e.g. inside std::regex),
  # which -Werror would turn into a failed build; the plain build keeps the warning.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
                      -Wno-maybe-uninitialized)
  add_link_options(-fsanitize=address,undefined)
endif()

# govpool_add_library(name SOURCES... DEPS...): a folder's library with house warnings.
function(govpool_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE govpool_warnings ${ARG_PRIVATE_DEPS})
endfunction()
