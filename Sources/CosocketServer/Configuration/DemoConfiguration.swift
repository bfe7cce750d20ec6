/// The configuration `cosocket demo` serves: handlers that use cosockets against a backend
/// location of the same server, so the demo needs no external service.
public enum DemoConfiguration {
    public static func text(port: Int, workers: String = "auto") -> String {
        """
        worker_processes \(workers);
        error_log stderr warn;
        events { worker_connections 1024; }

        http {
            default_type text/plain;
            lua_socket_read_timeout 2s;

            init_worker_by_lua_block {
                -- Cosockets work here too (the reference disables them in init phases).
                demo_started_at = ngx.now()
            }

            server {
                listen 127.0.0.1:\(port);

                # The "upstream": answers GET /backend?key=K with a small body.
                location = /backend {
                    content_by_lua_block {
                        ngx.print("value-of-", ngx.var.arg_key or "nothing")
                    }
                }

                # One cosocket round trip to the backend over a pooled keepalive connection.
                location = / {
                    content_by_lua_block {
                        local function fetch(key)
                            local sock = ngx.socket.tcp()
                            sock:settimeout(1000)
                            local ok, err = sock:connect("127.0.0.1", tonumber(ngx.var.server_port))
                            if not ok then return nil, "connect: " .. err end
                            local reused = sock:getreusedtimes()
                            sock:send("GET /backend?key=" .. ngx.escape_uri(key) .. " HTTP/1.1\\r\\nHost: demo\\r\\n\\r\\n")
                            local status = sock:receive("*l")
                            local length
                            local read_headers = sock:receiveuntil("\\r\\n\\r\\n")
                            local headers, err = read_headers()
                            if not headers then return nil, "headers: " .. err end
                            length = tonumber(headers:match("[Cc]ontent%-[Ll]ength: (%d+)"))
                            local body, err = sock:receive(length)
                            if not body then return nil, "body: " .. err end
                            sock:setkeepalive(10000, 32)
                            return body, status, reused
                        end

                        local key = ngx.var.arg_key or "answer"
                        local body, status, reused = fetch(key)
                        if not body then
                            ngx.status = 502
                            return ngx.say("backend failed: ", status)
                        end
                        ngx.say("backend said: ", body)
                        ngx.say("backend status line: ", status)
                        ngx.say("pooled connection reused ", reused, " times")
                    }
                }

                # Light threads: three backend calls at once, then wait for all.
                location = /fanout {
                    content_by_lua_block {
                        local function get(key)
                            local sock = ngx.socket.tcp()
                            assert(sock:connect("127.0.0.1", tonumber(ngx.var.server_port)))
                            sock:send("GET /backend?key=" .. key .. " HTTP/1.1\\r\\nHost: demo\\r\\n\\r\\n")
                            local headers = assert(sock:receiveuntil("\\r\\n\\r\\n")())
                            local body = assert(sock:receive(tonumber(headers:match("Content%-Length: (%d+)"))))
                            sock:setkeepalive(10000, 32)
                            return body
                        end
                        local threads = {}
                        for i, key in ipairs({"a", "b", "c"}) do threads[i] = ngx.thread.spawn(get, key) end
                        for i = 1, #threads do ngx.say(select(2, ngx.thread.wait(threads[i]))) end
                    }
                }
            }
        }
        """
    }
}
