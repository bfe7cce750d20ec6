/// Where nginx (with lua-nginx-module) allows each directive, for those this host accepts
/// without acting on them, and for those it implements only at some levels.
///
/// A directive outside its contexts is refused with nginx's `"X" directive is not allowed
/// here`; a name nginx does not know at all stays `unknown directive`. The table was checked
/// against the reference with `ref-nginx -t`, one directive in each context
/// (`DirectiveContextTests` holds the reference's verdicts).
enum DirectiveContext: Hashable {
    case main, events, http, server, location
    /// Inside `if (...) { }` in a location (nginx's `NGX_HTTP_LIF_CONF`) or in a server
    /// (`NGX_HTTP_SIF_CONF`, which takes rewrite-module directives only).
    case locationIf, serverIf
}

enum DirectiveContexts {
    private static let main: Set<DirectiveContext> = [.main]
    private static let events: Set<DirectiveContext> = [.events]
    private static let http: Set<DirectiveContext> = [.http]
    private static let httpServer: Set<DirectiveContext> = [.http, .server]
    private static let all: Set<DirectiveContext> = [.http, .server, .location]
    private static let anyLevel: Set<DirectiveContext> = [.main, .http, .server, .location]

    /// Directives accepted with a warning: they tune nginx internals or features this host
    /// does not have, and change nothing a Lua handler can observe here.
    static let ignored: [String: Set<DirectiveContext>] = [
        // main
        "user": main, "load_module": main, "worker_rlimit_nofile": main, "worker_cpu_affinity": main,
        "pcre_jit": main, "worker_priority": main, "worker_rlimit_core": main,
        "working_directory": main, "timer_resolution": main, "lock_file": main, "worker_shutdown_timeout": main,
        // events
        "use": events, "multi_accept": events, "accept_mutex": events, "accept_mutex_delay": events,
        // http, server, location
        "access_log": all, "sendfile": all, "tcp_nopush": all, "tcp_nodelay": all, "charset": all, "gzip": all,
        "gzip_types": all, "gzip_comp_level": all, "gzip_min_length": all, "gzip_vary": all, "gzip_proxied": all,
        "gzip_disable": all, "gzip_http_version": all, "gzip_buffers": all,
        "types_hash_max_size": all, "types_hash_bucket_size": all,
        
        "reset_timedout_connection": all, "open_file_cache": all,
        "open_file_cache_valid": all, "open_file_cache_min_uses": all, "open_file_cache_errors": all,
        "proxy_temp_path": all,
        "proxy_buffer_size": all, "proxy_buffers": all, "proxy_busy_buffers_size": all,
        "proxy_redirect": all, "proxy_intercept_errors": all, "proxy_ignore_client_abort": all, "proxy_next_upstream": all,
        "proxy_hide_header": all, "proxy_pass_header": all, "proxy_request_buffering": all, "proxy_cache": all,
        "proxy_max_temp_file_size": all, "proxy_ssl_server_name": all, "proxy_cookie_domain": all, "proxy_cookie_path": all,
        "proxy_ignore_headers": all, "proxy_headers_hash_max_size": all, "proxy_headers_hash_bucket_size": all,
        "proxy_socket_keepalive": all,
        "client_body_in_single_buffer": all, "client_body_in_file_only": all, "charset_types": all, "dav_methods": all,
        "fastcgi_temp_path": all, "uwsgi_temp_path": all, "scgi_temp_path": all,
        "chunked_transfer_encoding": all, "postpone_output": all, "lingering_close": all, "lingering_time": all,
        "lingering_timeout": all, "satisfy": all, "limit_rate": all, "etag": all, "error_log": anyLevel,
        "if_modified_since": all, "output_buffers": all, "sendfile_max_chunk": all, "aio": all,
        "directio": all, "log_not_found": all, "log_subrequest": all, "msie_padding": all, "port_in_redirect": all,
        "server_name_in_redirect": all,
        "lua_need_request_body": all,
        "lua_http10_buffering": all, "lua_use_default_type": all,
        "lua_code_cache": [.server, .location],
        // http, server
        "merge_slashes": httpServer,
        // http
        "log_format": http, "server_names_hash_bucket_size": http, "server_names_hash_max_size": http,
        "variables_hash_max_size": http, "variables_hash_bucket_size": http, "map_hash_bucket_size": http,
        "lua_malloc_trim": http, "lua_sa_restart": http, "lua_worker_thread_vm_pool_size": http,
        "rewrite_by_lua_no_postpone": http, "access_by_lua_no_postpone": http, "lua_load_resty_core": http,
    ]

    /// Directives this host implements at some levels, and every level nginx allows them at.
    /// Where one appears at a level that does not act on it, it is accepted as nginx accepts it.
    static let implemented: [String: Set<DirectiveContext>] = [
        "worker_processes": main, "thread_pool": main, "pid": main, "daemon": main, "master_process": main,
        "worker_connections": events,
        "proxy_pass": [.location], "upstream": http, "auth_request": all,
        "lua_transform_underscores_in_response_headers": all,
        // lua_ssl_certificate and _key are lua-nginx-module's since 0.10.24 (Debian's 0.10.23
        // lacks them); lua_ssl_verify_default is ours.
        "lua_ssl_trusted_certificate": all, "lua_ssl_verify_depth": all, "lua_ssl_protocols": all,
        "lua_ssl_ciphers": all, "lua_ssl_conf_command": all, "lua_ssl_crl": all, "lua_ssl_certificate": all,
        "lua_ssl_certificate_key": all, "lua_ssl_verify_default": all,
        "ssl_certificate_by_lua_block": httpServer, "ssl_certificate_by_lua_file": httpServer,
        "ssl_client_hello_by_lua_block": httpServer, "ssl_client_hello_by_lua_file": httpServer,
        "ssl_session_fetch_by_lua_block": http, "ssl_session_fetch_by_lua_file": http,
        "ssl_session_store_by_lua_block": http, "ssl_session_store_by_lua_file": http,
        "internal": [.location], "allow": all, "deny": all, "server_tokens": all, "add_header": all, "error_page": all, "expires": all, "map": http, "try_files": [.server, .location], "recursive_error_pages": all, "env": main, "root": all, "index": all, "alias": [.location],
        // echo-nginx-module's (location and location if).
        "echo": [.location], "echo_duplicate": [.location], "echo_flush": [.location], "echo_sleep": [.location],
        "echo_blocking_sleep": [.location], "echo_reset_timer": [.location], "echo_read_request_body": [.location],
        "echo_request_body": [.location], "echo_location": [.location], "echo_location_async": [.location],
        "echo_subrequest": [.location], "echo_subrequest_async": [.location], "echo_exec": [.location],
        "echo_status": [.location], "echo_foreach_split": [.location], "echo_end": [.location],
        "echo_before_body": [.location], "echo_after_body": [.location],
        // headers-more-nginx-module's (also in location if).
        "more_set_headers": all, "more_clear_headers": all, "more_set_input_headers": all, "more_clear_input_headers": all,
    ]

    /// The directives of the tables above that nginx also allows inside a location's `if`
    /// block (checked with `ref-nginx -t`, as the fixture's `location if` column).
    static let inLocationIf: Set<String> = [
        "access_log", "charset", "gzip", "limit_rate", "root", "sendfile", "lua_code_cache",
        "lua_need_request_body", "lua_transform_underscores_in_response_headers", "lua_http10_buffering",
        "lua_use_default_type",
    ]

    /// The contexts nginx allows `name` in, if this table knows it.
    static func contexts(of name: String) -> Set<DirectiveContext>? {
        ignored[name] ?? implemented[name]
    }
}
