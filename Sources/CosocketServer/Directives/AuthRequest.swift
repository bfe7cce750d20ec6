/// ngx_http_auth_request_module's `auth_request uri`: before the request's access handlers, a
/// subrequest to `uri` (sharing the request's variables, as nginx's subrequests do) decides:
/// a 2xx lets the request on, 401 (with its `WWW-Authenticate`) and 403 end it with that
/// status, anything else is a 500 with nginx's error-log line. Made into Lua at load, over
/// `ngx.location.capture`.
enum AuthRequest {
    static func lua(uri: String) -> [UInt8] {
        Array("""
            local res = ngx.location.capture(\(VariableTemplate.luaExpression(uri)), { share_all_vars = true })
            local status = res.status
            if status >= 200 and status < 300 then return end
            if status == 401 then
                local challenge = res.header["WWW-Authenticate"]
                if challenge then ngx.header["WWW-Authenticate"] = challenge end
                return ngx.exit(401)
            end
            if status == 403 then return ngx.exit(403) end
            ngx.log(ngx.ERR, "auth request unexpected status: ", status)
            return ngx.exit(500)
            """.utf8)
    }
}
