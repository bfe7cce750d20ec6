// The Lua runtime: see issue 4.
