# CTest `example_embed`: installs the library (component lhttp-dev) from BUILD_DIR into a
# fresh prefix, builds examples/embed against it with find_package(lhttp), and runs the
# example's self-test. Run with cmake -P and -D BUILD_DIR, SOURCE_DIR, WORK_DIR, GENERATOR,
# CXX_FLAGS, LINKER_FLAGS.
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "${var} is not set")
    endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)

function(step)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        list(JOIN ARGN " " command)
        message(FATAL_ERROR "failed (${rc}): ${command}")
    endif()
endfunction()

step(${CMAKE_COMMAND} --install ${BUILD_DIR} --component lhttp-dev --prefix ${prefix})
step(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/embed -B ${build} -G ${GENERATOR}
     -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=RelWithDebInfo
     "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}")
step(${CMAKE_COMMAND} --build ${build})
step(${build}/embed-node --self-test)
file(REMOVE_RECURSE ${WORK_DIR})
