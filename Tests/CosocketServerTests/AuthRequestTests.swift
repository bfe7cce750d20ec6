import CosocketTestSupport
import Foundation
import Testing

/// `auth_request` as ngx_http_auth_request_module answers (checked with ref-nginx; the first two
/// are t/005-exit.t's blocks 4 and 5): the subrequest sees the request's variables, a 2xx lets
/// it on (its access_by_lua* runs after), 401 keeps the challenge, 403 ends it, others are 500s.
@Suite struct AuthRequestTests {
    @Test func theSubrequestDecides() throws {
        let server = try TestServer(server: """
            location /auth { content_by_lua "if ngx.var.user == 'agentzh' then ngx.eof() elseif ngx.var.user == 'x' then ngx.header['WWW-Authenticate'] = 'Basic' ngx.exit(401) elseif ngx.var.user == 'y' then ngx.exit(404) else ngx.exit(403) end"; }
            location /api { set $user $arg_user; auth_request /auth; echo "Logged in"; }
            location /api2 { set $user $arg_user; auth_request /auth; access_by_lua_block { ngx.header["X-Acc"] = "ran" } content_by_lua_block { ngx.say("in") } }
            """)
        #expect(server.get("/api?user=agentzh").body == "Logged in\n")
        #expect(server.get("/api?user=agentz").status == 403)
        let challenged = server.get("/api?user=x")
        #expect(challenged.status == 401)
        #expect(challenged.header("WWW-Authenticate") == "Basic")
        #expect(server.get("/api?user=y").status == 500)
        #expect(server.log.waitFor("auth request unexpected status: 404"))
        let both = server.get("/api2?user=agentzh")
        #expect(both.body == "in\n")
        #expect(both.header("X-Acc") == "ran")
    }
}
