# fgw_targets_under(<dir> <out var>): every buildsystem target defined in <dir> and its
# subdirectories (for the checks run at the end of the top-level CMakeLists.txt).
include_guard(GLOBAL)

# All buildsystem targets defined in `dir` and its subdirectories.
function(fgw_targets_under dir out_var)
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    fgw_targets_under("${sub}" sub_targets)
    list(APPEND targets ${sub_targets})
  endforeach()
  set(${out_var} ${targets} PARENT_SCOPE)
endfunction()
