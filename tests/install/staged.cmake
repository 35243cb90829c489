# Included by the package checks (package_layout.cmake, desktop_files.cmake).
# lhttp_install_staged(COMPONENT): `cmake --install BUILD_DIR --component COMPONENT` with
# DESTDIR=WORK_DIR (emptied first), as the package of that component would lay it out.
function(lhttp_install_staged component)
    file(REMOVE_RECURSE ${WORK_DIR})
    set(ENV{DESTDIR} ${WORK_DIR})
    execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --component ${component}
                    RESULT_VARIABLE rc OUTPUT_QUIET)
    set(ENV{DESTDIR})
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "cmake --install --component ${component} failed (${rc})")
    endif()
endfunction()
