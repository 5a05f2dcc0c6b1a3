# cellcConfig.cmake -- `find_package(cellc REQUIRED)` for C/C++ programs that run cellc artifacts.
#
# Provides the target `cellc::runtime`: the C loader (runtime/src/cellc_runtime.c) built as a
# static library in the consumer's build, with cellc.h on its include path and libdl linked.
# Point CMake here with -Dcellc_DIR=<repo>/cmake, or
# -Dcellc_DIR=$(python -c "import cellc.runtime as r; print(r.cmake_dir())").
#
#   find_package(cellc REQUIRED)
#   add_executable(app main.c)
#   target_link_libraries(app PRIVATE cellc::runtime)

cmake_minimum_required(VERSION 3.16)

if(TARGET cellc::runtime)
  return()
endif()

get_filename_component(_cellc_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(cellc_INCLUDE_DIR "${_cellc_root}/runtime/include")
set(_cellc_source "${_cellc_root}/runtime/src/cellc_runtime.c")

if(NOT EXISTS "${_cellc_source}" OR NOT EXISTS "${cellc_INCLUDE_DIR}/cellc.h")
  set(cellc_FOUND FALSE)
  set(cellc_NOT_FOUND_MESSAGE
      "cellc runtime sources not found under ${_cellc_root}/runtime (include/cellc.h, src/cellc_runtime.c)")
  return()
endif()

enable_language(C)
add_library(cellc_runtime STATIC "${_cellc_source}")
set_target_properties(cellc_runtime PROPERTIES C_STANDARD 11 POSITION_INDEPENDENT_CODE ON)
target_include_directories(cellc_runtime PUBLIC "${cellc_INCLUDE_DIR}")
target_link_libraries(cellc_runtime PUBLIC ${CMAKE_DL_LIBS})
add_library(cellc::runtime ALIAS cellc_runtime)

set(cellc_LIBRARIES cellc::runtime)
set(cellc_INCLUDE_DIRS "${cellc_INCLUDE_DIR}")
set(cellc_FOUND TRUE)
