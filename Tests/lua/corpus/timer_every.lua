-- ngx.timer.every runs repeatedly until the worker exits; count a few ticks
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local ticks = 0
local ok, err = ngx.timer.every(0.05, function(premature)
  if not premature then ticks = ticks + 1 end
end)
show("every", ok, err)
ngx.sleep(0.28)
show("ticked 3..6 times", ticks >= 3 and ticks <= 6)
show("zero interval", pcall(ngx.timer.every, 0, function() end))
show("bad callback", pcall(ngx.timer.every, 1, nil))
