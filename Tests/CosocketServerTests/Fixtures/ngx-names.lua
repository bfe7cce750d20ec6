-- Every name of the ngx table, two levels deep, sorted (NgxNamesTests; the reference's list
-- is ngx-names.reference, made with ref-run -f on this file).
local names = {}
for k, v in pairs(ngx) do
  if type(k) == "string" then
    names[#names+1] = k
    if type(v) == "table" and k ~= "_G" then
      for k2 in pairs(v) do if type(k2) == "string" then names[#names+1] = k .. "." .. k2 end end
    end
  end
end
table.sort(names)
for _, n in ipairs(names) do ngx.say(n) end
