# Installs the library, headers and a CMake package config so find_package(detforge) works.
include(CMakePackageConfigHelpers)
install(TARGETS detforge detforge_cli EXPORT detforgeTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(layer ${DETFORGE_LAYERS})
  install(DIRECTORY ${layer}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/detforge/${layer}
    FILES_MATCHING PATTERN "*.h" PATTERN "*.cuh")
endforeach()
install(FILES detforge.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/detforge)
install(EXPORT detforgeTargets NAMESPACE detforge:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/detforge)
configure_package_config_file(cmake/detforgeConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/detforgeConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/detforge)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/detforgeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/detforgeConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/detforgeConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/detforge)
