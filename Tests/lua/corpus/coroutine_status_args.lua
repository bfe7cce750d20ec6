-- coroutine.status argument errors, as the reference words them
ngx.say(pcall(coroutine.status, 42))
ngx.say(pcall(coroutine.status))
ngx.say(coroutine.status(coroutine.running()))
