# Compiler warnings for the project's own code.
#
# fgw_apply_project_warnings() runs once, at the end of the top-level CMakeLists.txt, and adds
# FGW_WARNING_FLAGS (PRIVATE, C and C++ only) to every library and executable defined under
# server/, client/ and tests/, and to the hand-written part of proto/ (fgw_api_descriptors). The
# protobuf code generated in proto/ (fgw_options_proto, fgw_reflection_proto) is exempt, and its
# headers reach project code through SYSTEM include directories (proto/CMakeLists.txt), like every
# third-party header (imported targets are -isystem; rapidjson is added as SYSTEM). New targets
# are covered without any change here.
#
#   gcc:   -Wall -Wextra -Werror
#   clang: the same plus -Wthread-safety (Abseil's ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED
#          are checked; tests/static/run_thread_safety.sh is the CI build that runs it).
#
# FGW_WERROR=OFF keeps the warnings but not as errors (e.g. to see every warning of a compiler
# version the project was not built with yet). It is OFF by default in a gcc build with
# FGW_SANITIZE (tests/sanitize/run_sanitizers.sh): gcc's flow-based warnings
# (-Wmaybe-uninitialized, -Wstringop-*) misfire on instrumented code, and that build is there for
# the sanitizers' reports; the plain gcc build and the clang build keep -Werror.
include(${CMAKE_CURRENT_LIST_DIR}/FgwTargets.cmake)

set(fgw_werror_default ON)
if(FGW_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  set(fgw_werror_default OFF)
endif()
option(FGW_WERROR "Treat warnings in the project's own code as errors" ${fgw_werror_default})

set(FGW_WARNING_FLAGS -Wall -Wextra)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  list(APPEND FGW_WARNING_FLAGS -Wthread-safety)
endif()

function(fgw_apply_project_warnings)
  set(targets fgw_api_descriptors)
  foreach(dir server client tests)
    if(dir STREQUAL "tests" AND NOT FGW_BUILD_TESTS)
      continue()  # Not added to the build (quickstart, Dockerfile): nothing to flag.
    endif()
    if(EXISTS "${CMAKE_SOURCE_DIR}/${dir}/CMakeLists.txt")
      fgw_targets_under("${CMAKE_SOURCE_DIR}/${dir}" dir_targets)
      list(APPEND targets ${dir_targets})
    endif()
  endforeach()
  foreach(target IN LISTS targets)
    if(NOT TARGET ${target})
      continue()
    endif()
    get_target_property(type ${target} TYPE)
    if(NOT type MATCHES "^(STATIC_LIBRARY|SHARED_LIBRARY|MODULE_LIBRARY|OBJECT_LIBRARY|EXECUTABLE)$")
      continue()
    endif()
    set(flags ${FGW_WARNING_FLAGS})
    if(FGW_WERROR)
      list(APPEND flags -Werror)
    endif()
    target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:C,CXX>:${flags}>")
  endforeach()
endfunction()
