# CTest `package_layout`: what the server package holds (component `server`, packaging/),
# installed with DESTDIR into WORK_DIR: the programs, the systemd units with ExecStart naming
# the installed program and config file, and /etc/lhttp-qt/lhttpd.conf — which must be
# exactly what the installed lhttpd-qt prints with that file as its config (every option
# there, at its default, and the file reads back). Run with cmake -P and -D BUILD_DIR,
# WORK_DIR, BINDIR, SYSCONFDIR (full paths), UNITDIR.
foreach(var BUILD_DIR WORK_DIR BINDIR SYSCONFDIR UNITDIR)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "${var} is not set")
    endif()
endforeach()
include(${CMAKE_CURRENT_LIST_DIR}/staged.cmake)
lhttp_install_staged(server)

set(conf ${WORK_DIR}${SYSCONFDIR}/lhttp-qt/lhttpd.conf)
foreach(file ${WORK_DIR}${BINDIR}/lhttpd-qt ${WORK_DIR}${BINDIR}/lhttp-cli ${conf}
             ${WORK_DIR}${UNITDIR}/lhttpd-qt.service ${WORK_DIR}${UNITDIR}/lhttpd-qt.socket)
    if(NOT EXISTS ${file})
        message(FATAL_ERROR "not installed: ${file}")
    endif()
endforeach()

file(STRINGS ${WORK_DIR}${UNITDIR}/lhttpd-qt.service exec REGEX "^ExecStart=")
if(NOT exec STREQUAL "ExecStart=${BINDIR}/lhttpd-qt --config ${SYSCONFDIR}/lhttp-qt/lhttpd.conf")
    message(FATAL_ERROR "lhttpd-qt.service has '${exec}'")
endif()

set(ENV{LHTTP_THREADS})
execute_process(COMMAND ${WORK_DIR}${BINDIR}/lhttpd-qt --config ${conf} --print-config
                OUTPUT_VARIABLE printed RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "lhttpd-qt --config ${conf} failed (${rc}): ${err}")
endif()
file(READ ${conf} installed)
if(NOT printed STREQUAL installed)
    file(WRITE ${WORK_DIR}/printed.conf "${printed}")
    message(FATAL_ERROR "${conf} differs from what lhttpd-qt prints with it "
                        "(diff ${conf} ${WORK_DIR}/printed.conf)")
endif()
# Every option of --help is in the file, commented out (';'); none is set.
execute_process(COMMAND ${WORK_DIR}${BINDIR}/lhttpd-qt --help OUTPUT_VARIABLE help)
string(REGEX MATCHALL "--[a-z][a-z-]+" flags "${help}")
list(REMOVE_DUPLICATES flags)
list(REMOVE_ITEM flags --help --help-all --version --config --print-config)
string(REPLACE ";" "#" text "${installed}")
set(n 0)
foreach(flag IN LISTS flags)
    string(SUBSTRING ${flag} 2 -1 key)
    if(NOT text MATCHES "\n#${key} =")
        message(FATAL_ERROR "--${key} is not in lhttpd.conf, commented out at its default")
    endif()
    math(EXPR n "${n} + 1")
endforeach()
if(n LESS 40 OR text MATCHES "\n[a-z-]+ =")
    message(FATAL_ERROR "lhttpd.conf: ${n} options of --help found; or one is set")
endif()
message(STATUS "server package layout ok; lhttpd.conf has ${n} options, all at their defaults")
file(REMOVE_RECURSE ${WORK_DIR})
