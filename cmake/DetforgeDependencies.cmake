# All dependencies come from Debian packages (scripts/install_deps.sh) or the CUDA toolkit.
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(dnnl REQUIRED)
find_package(CLI11 REQUIRED)
find_package(ZLIB REQUIRED)  # IDX dataset files (data/idx.cpp)
find_package(spdlog REQUIRED)  # logged skips (bad dataset entries), progress
find_package(pugixml REQUIRED)  # Pascal VOC XML annotations (data/voc_to_coco.cpp)
# Debian libstb-dev: headers under /usr/include/stb; the implementations are compiled in data/image_io.cpp.
find_path(DETFORGE_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb REQUIRED)
if(DETFORGE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(DETFORGE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
include(GNUInstallDirs)

function(detforge_target_options target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter -fno-math-errno -fno-trapping-math>
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr --extended-lambda -Xcompiler=-Wall>)
  if(DETFORGE_CPU_ARCH)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-march=${DETFORGE_CPU_ARCH}>
      $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-march=${DETFORGE_CPU_ARCH}>)
  endif()
  # ASan + UBSan on every detforge target (library, CLI, tests, bench), including the host side of
  # .cu files. The runtime must come first in an executable's library list, so anything linking the
  # sanitized shared library (the installed package's consumers too) links it: the link option is
  # PUBLIC on the library. Running CUDA code under ASan needs ASAN_OPTIONS=protect_shadow_gap=0.
  if(DETFORGE_SANITIZE)
    set(_df_san -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:${_df_san}>
      # nvcc splits -Xcompiler values at commas: one flag each.
      $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-fsanitize=address -Xcompiler=-fsanitize=undefined
        -Xcompiler=-fno-omit-frame-pointer>)
    get_target_property(_df_type ${target} TYPE)
    if(_df_type STREQUAL "SHARED_LIBRARY" OR _df_type STREQUAL "STATIC_LIBRARY")
      target_link_options(${target} PUBLIC -fsanitize=address,undefined)
    else()
      target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    endif()
  endif()
endfunction()
