# Bundles the page (cmake -DSRC=web -DOUT=build/web -P bundle.cmake): `npm ci` when node_modules is
# missing, then esbuild into one app.js. Without node/npm, or when that fails, it writes a fallback page
# that says the web UI wasn't built, so the build (and the server's API) still works.
find_program(NODE_EXE node)
find_program(NPM_EXE npm)
set(ok 0)
if(NODE_EXE AND NPM_EXE)
  if(NOT EXISTS "${SRC}/node_modules/three/package.json" OR NOT EXISTS "${SRC}/node_modules/esbuild/package.json")
    message(STATUS "web: npm ci")
    execute_process(COMMAND "${NPM_EXE}" ci --no-audit --no-fund WORKING_DIRECTORY "${SRC}" RESULT_VARIABLE rc)
  endif()
  # .bin/esbuild is the native binary or a node script with a #! line, depending on how npm installed it
  if(EXISTS "${SRC}/node_modules/.bin/esbuild")
    execute_process(COMMAND "${SRC}/node_modules/.bin/esbuild" "${SRC}/src/main.js" --bundle
                            --minify --format=iife --target=es2020 --log-level=warning "--outfile=${OUT}/app.js"
                    WORKING_DIRECTORY "${SRC}" RESULT_VARIABLE rc)
    if(rc EQUAL 0)
      set(ok 1)
    endif()
  endif()
endif()
if(ok)
  configure_file("${SRC}/src/index.html" "${OUT}/index.html" COPYONLY)
  configure_file("${SRC}/src/style.css" "${OUT}/style.css" COPYONLY)
else()
  message(WARNING "web: the page could not be bundled (node/npm missing or npm ci failed); embedding a fallback page")
  file(WRITE "${OUT}/index.html" "<!doctype html><meta charset=utf-8><title>musicmap</title>
<link rel=stylesheet href=style.css><h1>musicmap</h1>
<p>This musicmap was built without its web page (Node.js and npm were not available at build time).
The API still works: <a href=api/maps>api/maps</a>. Install nodejs and npm and rebuild to get the map.</p>\n")
  file(WRITE "${OUT}/app.js" "")
  file(WRITE "${OUT}/style.css" "body{font:16px system-ui,sans-serif;background:#111;color:#ddd;margin:3em}a{color:#8cf}\n")
endif()
file(WRITE "${OUT}/built.txt" "${ok}")
