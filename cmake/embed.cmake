# paypipe_embed(<target> <namespace> <files>...)
# Compiles <files> into <target> as a table of {name, content} the code reads with
# <namespace>::embedded_files(): schemas and migrations ship inside the binaries, so a
# container needs nothing beside them. Regenerated when any file changes.
function(paypipe_embed target namespace)
  set(files ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_embedded.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNAMESPACE=${namespace} "-DFILES=${files}"
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_generate.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/embed_generate.cmake
    COMMENT "Embedding ${namespace} files into ${target}"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/libs)
endfunction()
