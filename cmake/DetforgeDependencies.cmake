# All dependencies come from Debian packages (scripts/install_deps.sh) or the CUDA toolkit.
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(dnnl REQUIRED)
find_package(CLI11 REQUIRED)
if(DETFORGE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(DETFORGE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
include(GNUInstallDirs)

function(detforge_target_options target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr --extended-lambda -Xcompiler=-Wall>)
  if(DETFORGE_CPU_ARCH)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-march=${DETFORGE_CPU_ARCH}>
      $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-march=${DETFORGE_CPU_ARCH}>)
  endif()
  if(DETFORGE_SANITIZE)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined -fno-omit-frame-pointer>)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
