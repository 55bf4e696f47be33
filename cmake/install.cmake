# SPDX-License-Identifier: Apache-2.0
#
# Install rules (top-level builds only; see the end of ../CMakeLists.txt):
#
#   <libdir>/libampvq.a
#   <includedir>/ampvq-<major>/*.h, ampvq/*.h     core and port public headers
#   <libdir>/cmake/ampvq/ampvqConfig*.cmake       find_package(ampvq) -> ampvq::ampvq
#   <libdir>/cmake/ampvq/ampvqTargets*.cmake
#   <libdir>/pkgconfig/ampvq.pc                   pkg-config ampvq
#
# Headers go under a versioned folder so that two major versions can be
# installed side by side; consumers still write #include "esp_amp.h".

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(AMPVQ_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/ampvq-${PROJECT_VERSION_MAJOR})
set(AMPVQ_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/ampvq)

# The library. Its strict-warnings target is linked only in the build
# interface, so nothing of it is exported.
install(TARGETS ampvq
  EXPORT ampvqTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${AMPVQ_INSTALL_INCLUDEDIR})

# Public headers: the core's, then the port's, into one folder (the port's
# headers live in their own ampvq/ subfolder, e.g. ampvq/posix.h). src/ holds
# only private headers and is not installed.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/
  DESTINATION ${AMPVQ_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
foreach(dir IN LISTS AMPVQ_PORT_INCLUDE_DIRS)
  install(DIRECTORY ${dir}/
    DESTINATION ${AMPVQ_INSTALL_INCLUDEDIR}
    FILES_MATCHING PATTERN "*.h")
endforeach()

# CMake package.
install(EXPORT ampvqTargets
  NAMESPACE ampvq::
  DESTINATION ${AMPVQ_INSTALL_CMAKEDIR})

# What the config must find before it loads the targets: Threads when the
# port links Threads::Threads (posix).
set(AMPVQ_NEEDS_THREADS OFF)
if("Threads::Threads" IN_LIST AMPVQ_PORT_LIBRARIES)
  set(AMPVQ_NEEDS_THREADS ON)
endif()
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/ampvqConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ampvqConfig.cmake
  INSTALL_DESTINATION ${AMPVQ_INSTALL_CMAKEDIR})
# The include folder carries the major version, so a major version is what
# stays compatible.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/ampvqConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/ampvqConfig.cmake
  ${PROJECT_BINARY_DIR}/ampvqConfigVersion.cmake
  DESTINATION ${AMPVQ_INSTALL_CMAKEDIR})

# pkg-config. The prefix is only known at install time (cmake --install
# --prefix overrides the configured one), so the .pc file is written then:
# the configure step fills in everything else and leaves @prefix@ et al.
# for the install step.
set(AMPVQ_PC_CFLAGS "")
foreach(def IN LISTS AMPVQ_PORT_DEFINITIONS)
  string(APPEND AMPVQ_PC_CFLAGS " -D${def}")
endforeach()
set(AMPVQ_PC_LIBS "")
foreach(lib IN LISTS AMPVQ_PORT_LIBRARIES)
  if(lib STREQUAL "Threads::Threads")
    string(APPEND AMPVQ_PC_LIBS " -pthread")
  elseif(lib MATCHES "^-")
    string(APPEND AMPVQ_PC_LIBS " ${lib}")
  elseif(NOT TARGET ${lib})
    string(APPEND AMPVQ_PC_LIBS " -l${lib}")
  else()
    message(WARNING "ampvq.pc: no pkg-config form for port library ${lib}; left out")
  endif()
endforeach()
set(AMPVQ_PC_STAGE ${PROJECT_BINARY_DIR}/ampvq.pc.stage)
# Keep the install-time placeholders as they are.
set(prefix @prefix@)
set(pc_libdir @pc_libdir@)
set(pc_includedir @pc_includedir@)
configure_file(${CMAKE_CURRENT_LIST_DIR}/ampvq.pc.in ${AMPVQ_PC_STAGE} @ONLY)
unset(prefix)
unset(pc_libdir)
unset(pc_includedir)
install(CODE "
  set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
  set(ampvq_pc_dest \"${CMAKE_INSTALL_LIBDIR}/pkgconfig\")
  if(NOT IS_ABSOLUTE \"\${ampvq_pc_dest}\")
    set(ampvq_pc_dest \"\${prefix}/\${ampvq_pc_dest}\")
  endif()
  set(pc_libdir \"${CMAKE_INSTALL_LIBDIR}\")
  set(pc_includedir \"${AMPVQ_INSTALL_INCLUDEDIR}\")
  foreach(ampvq_var pc_libdir pc_includedir)
    if(NOT IS_ABSOLUTE \"\${\${ampvq_var}}\")
      set(\${ampvq_var} \"\\\${prefix}/\${\${ampvq_var}}\")
    endif()
  endforeach()
  # Staged under a name per destination, so that concurrent installs of one
  # build tree do not collide.
  string(MD5 ampvq_pc_stage \"\$ENV{DESTDIR}\${ampvq_pc_dest}\")
  set(ampvq_pc_stage \"${PROJECT_BINARY_DIR}/pkgconfig/\${ampvq_pc_stage}/ampvq.pc\")
  configure_file(\"${AMPVQ_PC_STAGE}\" \"\${ampvq_pc_stage}\" @ONLY)
  file(INSTALL DESTINATION \"\${ampvq_pc_dest}\" TYPE FILE FILES \"\${ampvq_pc_stage}\")
")
