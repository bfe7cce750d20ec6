-- ngx.sleep with hostile durations: the reference truncates n * 1000 to an integer and refuses what falls below 0
for _, v in ipairs({0/0, math.huge, -math.huge, 1e300, -1, -0.0001, 2^63, -2^53}) do
  local t = ngx.now()
  local r = { pcall(ngx.sleep, v) }
  ngx.say(tostring(v), " ", tostring(r[1]), " ", tostring(r[2]), " ", ngx.now() - t < 0.5)
end
