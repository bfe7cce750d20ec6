import Foundation
import CosocketTestSupport
import Testing

@testable import CosocketServer

/// Debian's lua-resty-core, loaded into every VM at start (as the reference loads it), over
/// our `ngx_http_lua_ffi_*` C functions: the same Lua gives the same answers through it as
/// through our native API alone (a server whose package path hides resty.core).
@Suite(.serialized) struct RestyCoreServerTests {
    /// The native API alone: resty.core is not on this package path.
    private static let withoutRestyCore = "lua_package_path \"/nonexistent/?.lua\";"

    @Test func isLoadedBeforeUserCodeAndKeepsTheNativeFastPaths() throws {
        let server = try TestServer(
            server: """
                location = /t {
                    content_by_lua_block {
                        local function source(f) return debug.getinfo(f, "S").source end
                        local get_request = require("resty.core.base").get_request
                        ngx.print(INIT_REQUEST, " ", get_request() ~= nil, " ", coroutine.wrap(function() return get_request() ~= nil end)(), " ")
                        ngx.print(type(INIT_SAW), " ", INIT_SAW, " ", package.loaded["resty.core"].version, " ",
                                  source(getmetatable(ngx.var).__index), " ", source(ngx.exit), " ", source(ngx.re.match), " ",
                                  source(ngx.now), " ", source(ngx.md5), " ", source(ngx.shared.d.get), " ",
                                  source(ngx.req.set_header))
                    }
                }
                """,
            http: """
                lua_shared_dict d 1m;
                init_by_lua_block {
                    INIT_SAW = type(package.loaded["resty.core"])
                    -- No request in init, as in the reference; a request has one, inherited by
                    -- the coroutines it creates.
                    INIT_REQUEST = tostring((require("resty.core.base").get_request()))
                }
                """)
        #expect(server.get("/t").body == "nil true true string table 0.1.25 =[C] =[C] @/usr/share/lua/5.1/resty/core/regex.lua @/usr/share/lua/5.1/resty/core/time.lua "
            + "@/usr/share/lua/5.1/resty/core/hash.lua @/usr/share/lua/5.1/resty/core/shdict.lua "
            + "@/usr/share/lua/5.1/resty/core/request.lua")
        let plain = try TestServer(server: "location = /t { content_by_lua_block { ngx.print(tostring(package.loaded[\"resty.core\"])) } }",
                                   http: Self.withoutRestyCore)
        #expect(plain.get("/t").body == "nil")
    }

    /// Lua that prints what the request, response, codec, time, regex, shdict and worker APIs
    /// answer. With resty.core, the modules our loader puts back are required again first, so
    /// that `ngx.var`, `ngx.req.*`, `ngx.header` and `ngx.re` go through resty.core too.
    private static let probe = """
        location = /probe {
            set $settable "initial";
            content_by_lua_block {
                if package.loaded["resty.core"] then
                    for _, name in ipairs({ "resty.core.var", "resty.core.request", "resty.core.response", "resty.core.regex" }) do
                        package.loaded[name] = nil
                        require(name)
                    end
                    assert(debug.getinfo(getmetatable(ngx.var).__index, "S").source:find("resty/core/var.lua", 1, true))
                end
                local out = {}
                local function put(...)
                    local t = {}
                    for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end
                    out[#out + 1] = table.concat(t, " ")
                end
                local function sorted(t)
                    local keys = {}
                    for k in pairs(t) do keys[#keys + 1] = k end
                    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
                    local parts = {}
                    for _, k in ipairs(keys) do
                        local v = t[k]
                        parts[#parts + 1] = tostring(k) .. "=" .. (type(v) == "table" and "{" .. table.concat(v, ",") .. "}" or tostring(v))
                    end
                    return table.concat(parts, "&")
                end
                put("var", ngx.var.uri, ngx.var.args, ngx.var.arg_a, ngx.var.ARG_A, ngx.var.http_x_one, ngx.var.request_method,
                    ngx.var.nonexistent_thing, ngx.var.settable, ngx.var.host)
                ngx.var.settable = "changed"
                put("var set", ngx.var.settable, pcall(function() ngx.var.uri = "/x" end))
                ngx.var.settable = nil
                put("var nil", ngx.var.settable)
                put("method", ngx.req.get_method())
                local h = ngx.req.get_headers()
                put("headers", sorted(h), h.x_one, h["X-One"], h["x-two"] and #h["x-two"])
                put("raw headers", sorted(ngx.req.get_headers(nil, true)))
                local few, err = ngx.req.get_headers(2)
                put("max headers", sorted(few), err)
                put("args", sorted(ngx.req.get_uri_args()))
                put("max args", sorted((ngx.req.get_uri_args(2))), select(2, ngx.req.get_uri_args(2)))
                ngx.header["X-Set"] = "one"
                ngx.header.x_under = { "a", "b" }
                ngx.header.content_type = "text/x-probe"
                put("header", ngx.header["X-Set"], ngx.header.x_set, table.concat(ngx.header.x_under, ","), ngx.header.content_type, ngx.header.none)
                ngx.header["X-Set"] = nil
                put("header cleared", ngx.header["X-Set"])
                ngx.status = 202
                put("status", ngx.status)
                put("codec", ngx.md5("abc"), ngx.encode_base64(ngx.md5_bin("abc")), ngx.encode_base64(ngx.sha1_bin("abc")),
                    ngx.crc32_short("abc"), ngx.crc32_long("abc"), ngx.escape_uri("a b&c/é"), ngx.unescape_uri("a%20b+%2"),
                    ngx.encode_base64("xy", true), ngx.decode_base64("eHk="), ngx.decode_base64("@"),
                    ngx.encode_args({ a = true }), ngx.encode_args({ b = { "2 3", "x" } }), sorted(ngx.decode_args("p=1&q&p=2")))
                put("time", type(ngx.now()), math.abs(ngx.now() - os.time()) < 2, math.abs(ngx.time() - os.time()) < 2,
                    ngx.today() == os.date("%Y-%m-%d"), #ngx.localtime(), #ngx.utctime(), ngx.update_time())
                local m = ngx.re.match("hello 123 world", [[(\\d+) (?<w>\\w+)]], "jo")
                put("re", m[0], m[1], m.w, ngx.re.find("abc", "b"), (ngx.re.gsub("a1b2", "[0-9]", "#")), ngx.re.sub("aaa", "a", "$0$0"))
                put("re errors", pcall(ngx.re.match, "x", "("))
                local d = ngx.shared.d
                d:set("k", "v", 0, 3)
                put("shdict", d:get("k"), d:incr("n", 2, 40), d:incr("n", 1), d:add("k", 1), d:get("none"), d:ttl("k"), #d:get_keys())
                put("worker", ngx.worker.id(), ngx.worker.count(), ngx.worker.pid() > 0, #ngx.worker.pids(), ngx.worker.exiting(),
                    require("ngx.process").type(), ngx.get_phase(), ngx.headers_sent, ngx.is_subrequest)
                ngx.print(table.concat(out, "\\n"))
            }
        }
        """

    @Test func requestResponseCodecTimeRegexShdictAndWorkerCallsAnswerAsTheNativeOnes() throws {
        let headers = ["X-One: 1", "x-two: a", "X-Two: b", "Accept: */*"]
        let path = "/probe?a=1&b=x%20y&a=2&flag&=empty"
        let through = try TestServer(server: Self.probe, http: "lua_shared_dict d 1m;")
        let native = try TestServer(server: Self.probe, http: "lua_shared_dict d 1m;\n" + Self.withoutRestyCore)
        let viaRestyCore = through.get(path, headers: headers)
        let viaNative = native.get(path, headers: headers)
        #expect(viaRestyCore.status == 202)
        #expect(viaRestyCore.body.contains("var /probe a=1&b=x%20y&a=2&flag&=empty 1 1 1 GET nil initial test"))
        #expect(viaRestyCore.body.contains("headers accept=*/*&connection=close&host=test&x-one=1&x-two={a,b} 1 1 2"))
        #expect(viaRestyCore.body.contains("max headers host=test&x-one=1 truncated"))
        #expect(viaRestyCore.body.contains("max args a=1&b=x y truncated"))
        #expect(viaRestyCore.body.contains("re 123 world 123 world 2 a#b# aaaa 1"))
        // The chunk names carry the line of the block in each configuration.
        func lines(_ body: String) -> [String] {
            body.split(separator: "\n").map { String($0).replacing(/nginx\.conf:\d+/, with: "nginx.conf") }
        }
        let restyLines = lines(viaRestyCore.body)
        let nativeLines = lines(viaNative.body)
        #expect(restyLines.count == 18)
        #expect(restyLines == nativeLines)
        #expect(viaRestyCore.header("Content-Type") == viaNative.header("Content-Type"))
        #expect(viaRestyCore.headers("X-Under") == ["a", "b"])
        #expect(viaNative.headers("X-Under") == ["a", "b"])
    }

    @Test func addHeaderAndExitThroughRestyCore() throws {
        let server = try TestServer(
            server: """
                location = /add {
                    content_by_lua_block {
                        local resp = require "ngx.resp"
                        ngx.header["X-Multi"] = "first"
                        resp.add_header("X-Multi", "second")
                        resp.add_header("X-New", { "n1", "n2" })
                        local started = ngx.req.start_time()
                        ngx.sleep(0.05)
                        ngx.update_time()
                        local elapsed = ngx.now() - started
                        assert(started == ngx.req.start_time() and elapsed >= 0.04 and elapsed < 2, elapsed)
                        ngx.req.set_header("X-A", "1")
                        require("ngx.req").add_header("X-A", "2")
                        ngx.print(table.concat(ngx.header["X-Multi"], ","), " ", table.concat(ngx.req.get_headers()["x-a"], ","))
                    }
                }
                location = /exit {
                    content_by_lua_block {
                        package.loaded["resty.core.exit"] = nil
                        require "resty.core.exit"
                        ngx.status = 201
                        ngx.print("before ")
                        ngx.exit(ngx.HTTP_OK)
                        ngx.print("not reached")
                    }
                }
                location = /exit-status {
                    content_by_lua_block {
                        package.loaded["resty.core.exit"] = nil
                        require "resty.core.exit"
                        ngx.exit(403)
                    }
                }
                """)
        let added = server.get("/add")
        // The request header writers reach the host through resty.core's doors too.
        #expect(added.body == "first,second 1,2")
        #expect(added.headers("X-Multi") == ["first", "second"])
        #expect(added.headers("X-New") == ["n1", "n2"])
        let exited = server.get("/exit")
        #expect(exited.body == "before ")
        #expect(server.get("/exit-status").status == 403)
        // The same as our native ngx.exit gives.
        let native = try TestServer(
            server: """
                location = /exit { content_by_lua_block { ngx.status = 201 ngx.print("before ") ngx.exit(ngx.HTTP_OK) ngx.print("not reached") } }
                location = /exit-status { content_by_lua_block { ngx.exit(403) } }
                """)
        let nativeExited = native.get("/exit")
        #expect(nativeExited.status == exited.status)
        #expect(nativeExited.body == exited.body)
        #expect(native.get("/exit-status").body == server.get("/exit-status").body)
    }

    @Test func modulesLoadOverTheCFunctionsOrFailNamingWhatTheyLack() throws {
        let server = try TestServer(
            server: """
                location = /t {
                    content_by_lua_block {
                        for _, name in ipairs({ "ngx.balancer", "ngx.pipe", "ngx.ocsp" }) do
                            local ok, err = pcall(require, name)
                            ngx.say(name, " ", ok, " ", err:match("needs C functions this binary does not export: ([%w_]+)"))
                        end
                        local ok, err = pcall(function() return require("resty.core.ndk") end)
                        ngx.say(ok)
                        -- ngx.ssl and its submodules are lua-resty-core's, over our C functions.
                        for _, name in ipairs({ "ngx.ssl", "ngx.ssl.session", "ngx.ssl.clienthello" }) do
                            local module = require(name)
                            ngx.say(name, " ", type(module.version), " ", package.searchpath(name, package.path) ~= nil)
                        end
                        ngx.say(type(require("ngx.ssl").parse_pem_cert(io.open("\(TLSCertificates.path("server.pem"))"):read("*a"))))
                    }
                }
                """)
        #expect(server.get("/t").body == """
            ngx.balancer false ngx_http_lua_ffi_balancer_set_current_peer
            ngx.pipe false ngx_http_lua_ffi_pipe_spawn
            ngx.ocsp false ngx_http_lua_ffi_ssl_get_ocsp_responder_from_der_chain
            true
            ngx.ssl string true
            ngx.ssl.session string true
            ngx.ssl.clienthello string true
            cdata

            """)
    }
}
