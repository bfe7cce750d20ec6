-- Calls each request API of the ngx API issue in the phase it runs in and logs what each
-- answered (RequestPhaseTests; phase-probe.expected holds the reference's lines).
local calls = {
  set_header = function() ngx.req.set_header("X-A", "1") end,
  clear_header = function() ngx.req.clear_header("X-A") end,
  set_method = function() ngx.req.set_method(ngx.HTTP_POST) end,
  set_uri = function() ngx.req.set_uri("/x") end,
  set_uri_args = function() ngx.req.set_uri_args("a=1") end,
  is_internal = function() return ngx.req.is_internal() end,
  start_time = function() return ngx.req.start_time() end,
  set_body_data = function() ngx.req.set_body_data("x") end,
  init_body = function() ngx.req.init_body() end,
  append_body = function() ngx.req.append_body("x") end,
  finish_body = function() ngx.req.finish_body() end,
  get_body_file = function() return ngx.req.get_body_file() end,
  set_body_file = function() ngx.req.set_body_file("/etc/hostname") end,
  resp_get_headers = function() return ngx.resp.get_headers() end,
  run_worker_thread = function() return ngx.run_worker_thread("default", "string", "len", "x") end,
  http_time = function() return ngx.http_time(0) end,
  raw_header = function() return #ngx.req.raw_header() end,
  redirect = function() ngx.redirect("/elsewhere") end,
  read_body = function() ngx.req.read_body() end,
}
local names = {} for k in pairs(calls) do names[#names+1] = k end table.sort(names)
local out = {}
for _, n in ipairs(names) do
  local ok, err = pcall(calls[n])
  out[#out+1] = n .. "=" .. (ok and "ok" or tostring(err):gsub("^.-:%d+: ", ""))
end
ngx.log(ngx.ERR, "PHASE ", ngx.get_phase(), " ", table.concat(out, "; "))
