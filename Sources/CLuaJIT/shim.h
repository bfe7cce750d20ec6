#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>
#include <luajit.h>

/* Protected forms of the Lua API calls the worker makes while no Lua code runs: an allocation
   that fails there (a VM whose memory is exhausted) would reach LuaJIT's panic, which ends the
   process. lua_cpcall catches it, and these answer a status instead (0 on success). */

struct cosocket_traceback_call { lua_State *co; const char *message; };

static int cosocket_traceback_body(lua_State *L) {
    struct cosocket_traceback_call *call = (struct cosocket_traceback_call *)lua_touserdata(L, 1);
    luaL_traceback(L, call->co, call->message, 0);
    if (!lua_checkstack(call->co, 1)) return luaL_error(L, "not enough memory");
    lua_xmove(L, call->co, 1);
    return 0;
}

/* luaL_traceback(L, co, message, 0), left on the top of co's stack. */
static inline int cosocket_protected_traceback(lua_State *L, lua_State *co, const char *message) {
    struct cosocket_traceback_call call = { co, message };
    int top = lua_gettop(L);
    int status = lua_cpcall(L, cosocket_traceback_body, &call);
    lua_settop(L, top);
    return status;
}

struct cosocket_thread_call { lua_State *thread; int reference; };

static int cosocket_thread_body(lua_State *L) {
    struct cosocket_thread_call *call = (struct cosocket_thread_call *)lua_touserdata(L, 1);
    call->thread = lua_newthread(L);
    call->reference = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* lua_newthread(L) anchored by luaL_ref in the registry; NULL when memory ran out. */
static inline lua_State *cosocket_protected_newthread(lua_State *L, int *reference) {
    struct cosocket_thread_call call = { NULL, LUA_NOREF };
    int top = lua_gettop(L);
    int status = lua_cpcall(L, cosocket_thread_body, &call);
    lua_settop(L, top);
    if (status != 0) return NULL;
    *reference = call.reference;
    return call.thread;
}

struct cosocket_string_call { lua_State *to; const char *bytes; size_t length; };

static int cosocket_string_body(lua_State *L) {
    struct cosocket_string_call *call = (struct cosocket_string_call *)lua_touserdata(L, 1);
    lua_pushlstring(L, call->bytes, call->length);
    if (!lua_checkstack(call->to, 1)) return luaL_error(L, "not enough memory");
    lua_xmove(L, call->to, 1);
    return 0;
}

/* lua_pushlstring onto `to` (a thread of L's VM, or L), made on L. */
static inline int cosocket_protected_pushlstring(lua_State *L, lua_State *to, const char *bytes, size_t length) {
    struct cosocket_string_call call = { to, bytes, length };
    int top = lua_gettop(L);
    int status = lua_cpcall(L, cosocket_string_body, &call);
    lua_settop(L, top);
    return status;
}

struct cosocket_function_call { lua_CFunction function; int reference; };

static int cosocket_function_body(lua_State *L) {
    struct cosocket_function_call *call = (struct cosocket_function_call *)lua_touserdata(L, 1);
    lua_pushcfunction(L, call->function);
    call->reference = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* `function` as a Lua function anchored by luaL_ref in the registry; LUA_NOREF when memory ran out. */
static inline int cosocket_protected_function_reference(lua_State *L, lua_CFunction function) {
    struct cosocket_function_call call = { function, LUA_NOREF };
    int top = lua_gettop(L);
    int status = lua_cpcall(L, cosocket_function_body, &call);
    lua_settop(L, top);
    return status == 0 ? call.reference : LUA_NOREF;
}
