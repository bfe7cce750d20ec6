#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>
#include <luajit.h>
