import CosocketTestSupport
import Testing

/// One cell of the fault-injection matrix: a Lua handler that runs `operation` against a
/// `fault` peer (its port is `PORT` in the code) and what the reference prints for it. The
/// lines after the operation probe the socket's state afterwards (a later call, `close`).
struct UpstreamFaultRow: Sendable, CustomTestStringConvertible {
    let fault: Fault
    let operation: String
    let lua: String
    let expected: String
    /// Sockets to the peer the worker still holds once the request is over (a pooled one).
    var leftover = 0
    /// What a `halfClose` peer must have read after its FIN.
    var peerReceived: String? = nil

    var testDescription: String { "\(fault.rawValue) × \(operation)" }
}

/// Every (fault × operation) pair that means something. Left out, on purpose:
/// - receive patterns against `noRead`: it is `mute` for a reader (rows below);
/// - anything but connect against `fullBacklog` and `refused`: the socket never connects, and
///   the connect rows check that every later call answers "closed";
/// - sends against peers that close or reset *before* the send: the kernel takes the first
///   send, so the answer depends on the race with the FIN/RST (the reset row sends after the
///   RST surely arrived);
/// - setkeepalive against `flood` after reading everything: it is `closeMidLine`'s EOF;
/// - a peer that resets right at accept: whether connect or the handshake meets the RST is a
///   race on both sides (each checks SO_ERROR when the connect completes); `reset` sends first;
/// - UDP patterns: a datagram socket has one receive (`receive(size)`), tried against each
///   UDP fault; TCP-only operations against UDP faults do not exist.
enum UpstreamFaultRows {
    /// Prepended to each row: `show` prints values as the corpus does; `open` connects with
    /// a 300 ms timeout for every phase.
    static let prelude = """
        local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
        local function open(ms, opts) local s = ngx.socket.tcp() s:settimeout(ms or 2000) local ok, err = s:connect("127.0.0.1", PORT, opts) if not ok then show("connect", ok, err) end return s end

        """

    static let all: [UpstreamFaultRow] = connect + closing + resetting + mute + sending + halfClose + flood + pool + tls + udp

    static let connect: [UpstreamFaultRow] = [
        .init(
            fault: .refused, operation: "connect",
            lua: """
                local s = ngx.socket.tcp()
                show("connect", s:connect("127.0.0.1", PORT))
                show("send", s:send("x")) show("receive", s:receive()) show("close", s:close())
                """,
            expected: "connect nil connection refused\nsend nil closed\nreceive nil closed\nclose nil closed\n"),
        .init(
            fault: .fullBacklog, operation: "connect",
            lua: """
                local s = ngx.socket.tcp() s:settimeout(150)
                show("connect", s:connect("127.0.0.1", PORT))
                show("send", s:send("x")) show("receive", s:receive()) show("close", s:close())
                """,
            expected: "connect nil timeout\nsend nil closed\nreceive nil closed\nclose nil closed\n"),
        .init(
            fault: .fullBacklog, operation: "connect with pool options",
            lua: """
                local s = ngx.socket.tcp() s:settimeout(150)
                show("connect", s:connect("127.0.0.1", PORT, { pool_size = 1, backlog = 1 }))
                show("setkeepalive", s:setkeepalive()) show("close", s:close())
                """,
            expected: "connect nil timeout\nsetkeepalive nil closed\nclose nil closed\n"),
    ]

    /// The peer sends "hello wor" and closes.
    static let closing: [UpstreamFaultRow] = [
        .init(
            fault: .closeMidLine, operation: "receive *l",
            lua: """
                local s = open()
                show("line", s:receive("*l")) show("again", s:receive("*l")) show("close", s:close())
                """,
            expected: "line nil closed hello wor\nagain nil closed\nclose 1\n"),
        .init(
            fault: .closeMidLine, operation: "receive(size)",
            lua: """
                local s = open()
                show("sized", s:receive(20)) show("again", s:receive(1)) show("close", s:close())
                """,
            expected: "sized nil closed hello wor\nagain nil closed\nclose 1\n"),
        .init(
            fault: .closeMidLine, operation: "receive *a",
            lua: """
                local s = open()
                show("all", s:receive("*a")) show("again", s:receive("*a")) show("line", s:receive()) show("close", s:close())
                """,
            expected: "all hello wor\nagain \"\"\nline nil closed \"\"\nclose 1\n"),
        .init(
            fault: .closeMidLine, operation: "receiveany",
            lua: """
                local s = open()
                show("any", s:receiveany(100)) show("again", s:receiveany(100)) show("close", s:close())
                """,
            expected: "any hello wor\nagain nil closed \"\"\nclose 1\n"),
        .init(
            fault: .closeMidLine, operation: "receiveuntil",
            lua: """
                local s = open()
                local reader = s:receiveuntil("\\r\\n")
                show("until", reader()) show("again", reader()) show("close", s:close())
                """,
            expected: "until nil closed hello wor\nagain nil closed\nclose 1\n"),
        .init(
            fault: .closeMidLine, operation: "setkeepalive after EOF",
            lua: """
                local s = open()
                show("sized", s:receive(20))
                show("setkeepalive", s:setkeepalive()) show("close", s:close())
                """,
            expected: "sized nil closed hello wor\nsetkeepalive nil closed\nclose 1\n"),
    ]

    /// The peer sends "partial" and resets 100 ms later.
    static let resetting: [UpstreamFaultRow] = [
        .init(
            fault: .reset, operation: "receive *l",
            lua: """
                local s = open()
                show("line", s:receive()) show("again", s:receive()) show("close", s:close())
                """,
            expected: "line nil connection reset by peer partial\nagain nil closed\nclose 1\n"),
        .init(
            fault: .reset, operation: "receive(size)",
            lua: """
                local s = open()
                show("sized", s:receive(100)) show("again", s:receive(1)) show("close", s:close())
                """,
            expected: "sized nil connection reset by peer partial\nagain nil closed\nclose 1\n"),
        .init(
            fault: .reset, operation: "receive *a",
            lua: """
                local s = open()
                show("all", s:receive("*a")) show("again", s:receive("*a")) show("close", s:close())
                """,
            expected: "all nil connection reset by peer partial\nagain nil closed\nclose 1\n"),
        .init(
            fault: .reset, operation: "receiveany",
            lua: """
                local s = open()
                show("any", s:receiveany(100)) show("again", s:receiveany(100)) show("close", s:close())
                """,
            expected: "any partial\nagain nil connection reset by peer \"\"\nclose 1\n"),
        .init(
            fault: .reset, operation: "receiveuntil",
            lua: """
                local s = open()
                local reader = s:receiveuntil("--b")
                show("until", reader()) show("again", reader()) show("close", s:close())
                """,
            expected: "until nil connection reset by peer partial\nagain nil closed\nclose 1\n"),
        .init(
            fault: .reset, operation: "send after the RST arrived",
            lua: """
                local s = open()
                ngx.sleep(0.3)
                show("send", s:send("x")) show("again", s:send("x")) show("close", s:close())
                """,
            expected: "send nil connection reset by peer\nagain nil closed\nclose 1\n"),
    ]

    /// The peer reads and never answers: read timeouts leave the socket usable.
    static let mute: [UpstreamFaultRow] = [
        .init(
            fault: .mute, operation: "receive *l",
            lua: """
                local s = open(100)
                show("line", s:receive()) show("send", s:send("x")) show("close", s:close())
                """,
            expected: "line nil timeout \"\"\nsend 1\nclose 1\n"),
        .init(
            fault: .mute, operation: "receive(size)",
            lua: """
                local s = open(100)
                show("sized", s:receive(10)) show("send", s:send("x")) show("close", s:close())
                """,
            expected: "sized nil timeout \"\"\nsend 1\nclose 1\n"),
        .init(
            fault: .mute, operation: "receive *a",
            lua: """
                local s = open(100)
                show("all", s:receive("*a")) show("send", s:send("x")) show("close", s:close())
                """,
            expected: "all nil timeout \"\"\nsend 1\nclose 1\n"),
        .init(
            fault: .mute, operation: "receiveany",
            lua: """
                local s = open(100)
                show("any", s:receiveany(10)) show("send", s:send("x")) show("close", s:close())
                """,
            expected: "any nil timeout \"\"\nsend 1\nclose 1\n"),
        .init(
            fault: .mute, operation: "receiveuntil",
            lua: """
                local s = open(100)
                local reader = s:receiveuntil("\\r\\n")
                show("until", reader()) show("send", s:send("x")) show("close", s:close())
                """,
            expected: "until nil timeout \"\"\nsend 1\nclose 1\n"),
    ]

    /// The peer reads nothing: a big send fills both buffers and times out.
    static let sending: [UpstreamFaultRow] = [
        .init(
            fault: .noRead, operation: "send",
            lua: """
                local s = open(150)
                show("send", s:send(string.rep("x", 16 * 1024 * 1024)))
                show("again", s:send("y")) show("receive", s:receive()) show("close", s:close())
                """,
            expected: "send nil timeout\nagain nil closed\nreceive nil timeout \"\"\nclose 1\n")
    ]

    /// The peer sends "hello\n", shuts its write side, and keeps reading.
    static let halfClose: [UpstreamFaultRow] = [
        .init(
            fault: .halfClose, operation: "receive *l then send",
            lua: """
                local s = open()
                show("line", s:receive()) show("again", s:receive())
                show("send", s:send("after eof\\n")) show("close", s:close())
                """,
            expected: "line hello\nagain nil closed \"\"\nsend 10\nclose 1\n", peerReceived: "after eof\n"),
        .init(
            fault: .halfClose, operation: "receive(size)",
            lua: """
                local s = open()
                show("sized", s:receive(10)) show("send", s:send("x")) show("close", s:close())
                """,
            expected: "sized nil closed hello\n\nsend 1\nclose 1\n", peerReceived: "x"),
        .init(
            fault: .halfClose, operation: "receive *a",
            lua: """
                local s = open()
                local data, err = s:receive("*a")
                show("all", string.format("%q", data), err) show("send", s:send("x")) show("close", s:close())
                """,
            expected: "all \"hello\\\n\" nil\nsend 1\nclose 1\n", peerReceived: "x"),
        .init(
            fault: .halfClose, operation: "receiveany",
            lua: """
                local s = open()
                show("any", #s:receiveany(100)) show("again", s:receiveany(100)) show("close", s:close())
                """,
            expected: "any 6\nagain nil closed \"\"\nclose 1\n"),
        .init(
            fault: .halfClose, operation: "receiveuntil",
            lua: """
                local s = open()
                local reader = s:receiveuntil("--b")
                local data, err, partial = reader()
                show("until", data, err, #partial) show("close", s:close())
                """,
            expected: "until nil closed 6\nclose 1\n"),
        .init(
            fault: .halfClose, operation: "setkeepalive with the FIN pending",
            lua: """
                local s = open()
                show("line", s:receive()) ngx.sleep(0.05)
                show("setkeepalive", s:setkeepalive())
                local again = open()
                show("reused", again:getreusedtimes()) show("line", again:receive()) again:close()
                """,
            expected: "line hello\nsetkeepalive nil closed\nreused 0\nline hello\n"),
    ]

    /// The peer sends 100 MiB when 10 bytes are asked for.
    static let flood: [UpstreamFaultRow] = [
        .init(
            fault: .flood, operation: "receive(size)",
            lua: """
                local s = open()
                show("sized", s:receive(10)) show("close", s:close())
                """,
            expected: "sized 0123456789\nclose 1\n"),
        .init(
            fault: .flood, operation: "receiveany",
            lua: """
                local s = open()
                show("any", #s:receiveany(10)) show("close", s:close())
                """,
            expected: "any 10\nclose 1\n"),
        .init(
            fault: .flood, operation: "receiveuntil(size)",
            lua: """
                local s = open()
                local reader = s:receiveuntil("\\r\\n")
                show("until", reader(10)) show("close", s:close())
                """,
            expected: "until 0123456789\nclose 1\n"),
        .init(
            fault: .flood, operation: "receive *l",
            lua: """
                local s = open(5000)
                local line, err, partial = s:receive()
                show("line", line, err, #partial) show("close", s:close())
                """,
            expected: "line nil closed 104857600\nclose 1\n"),
        .init(
            fault: .flood, operation: "receive *a",
            lua: """
                local s = open(5000)
                local data, err = s:receive("*a")
                show("all", #data, err, data:sub(-10)) show("close", s:close())
                """,
            expected: "all 104857600 nil 6789012345\nclose 1\n"),
        .init(
            fault: .flood, operation: "setkeepalive with unread data",
            lua: """
                local s = open()
                show("sized", s:receive(10))
                show("setkeepalive", s:setkeepalive()) show("send", s:send("x")) show("close", s:close())
                """,
            expected: "sized 0123456789\nsetkeepalive nil unread data in buffer\nsend 1\nclose 1\n"),
    ]

    /// Pools: full with a full backlog, and idle pooled connections the peer drops.
    static let pool: [UpstreamFaultRow] = [
        .init(
            fault: .echo, operation: "connect: pool and backlog full",
            lua: """
                local opts = { pool_size = 1, backlog = 1 }
                local out = {}
                local function borrow(id, hold)
                    local s = ngx.socket.tcp() s:settimeout(2000)
                    local ok, err = s:connect("127.0.0.1", PORT, opts)
                    out[#out + 1] = id .. " connect " .. tostring(ok) .. " " .. tostring(err)
                    if not ok then out[#out + 1] = id .. " send " .. tostring(select(2, s:send("x"))) return end
                    ngx.sleep(hold)
                    out[#out + 1] = id .. " reused " .. s:getreusedtimes() .. " setkeepalive " .. tostring(s:setkeepalive())
                end
                local a = ngx.thread.spawn(borrow, "A", 0.1)
                local b = ngx.thread.spawn(borrow, "B", 0)
                local c = ngx.thread.spawn(borrow, "C", 0)
                ngx.thread.wait(a) ngx.thread.wait(b) ngx.thread.wait(c)
                for _, line in ipairs(out) do ngx.say(line) end
                """,
            expected: "C connect nil too many waiting connect operations\nC send closed\nA connect 1 nil\nA reused 0 setkeepalive 1\nB connect 1 nil\nB reused 1 setkeepalive 1\n",
            leftover: 1),
        .init(
            fault: .echo, operation: "connect: pool full, backlog 0",
            lua: """
                local opts = { pool_size = 1, backlog = 0 }
                local first = open(300, opts)
                local second = ngx.socket.tcp()
                show("second", second:connect("127.0.0.1", PORT, opts))
                show("first still works", first:send("ping\\n"), first:receive())
                first:close()
                show("after close", second:connect("127.0.0.1", PORT, opts)) second:close()
                """,
            expected: "second nil too many waiting connect operations\nfirst still works 5 ping\nafter close 1\n"),
        .init(
            fault: .idleCloser, operation: "pooled reuse after the peer closed it idle",
            lua: """
                local s = open()
                s:send("ping\\n") show("echo", s:receive())
                show("setkeepalive", s:setkeepalive(10000))
                ngx.sleep(3.5)
                local again = open()
                show("reused", again:getreusedtimes())
                again:send("pong\\n") show("echo", again:receive()) show("close", again:close())
                """,
            expected: "echo ping\nsetkeepalive 1\nreused 0\necho pong\nclose 1\n"),
        .init(
            fault: .reset, operation: "pooled reuse after an RST while idle",
            lua: """
                local s = open()
                show("sized", s:receive(7))
                show("setkeepalive", s:setkeepalive(10000))
                ngx.sleep(0.3)
                local again = open()
                show("reused", again:getreusedtimes()) show("sized", again:receive(7)) again:close()
                """,
            expected: "sized partial\nsetkeepalive 1\nreused 0\nsized partial\n"),
        .init(
            fault: .mute, operation: "pooled reuse of a silent connection",
            lua: """
                local s = open()
                show("setkeepalive", s:setkeepalive(10000))
                local again = open()
                show("reused", again:getreusedtimes()) show("setkeepalive", again:setkeepalive(10000))
                """,
            expected: "setkeepalive 1\nreused 1\nsetkeepalive 1\n", leftover: 1),
    ]

    /// sslhandshake against peers that do not speak TLS.
    static let tls: [UpstreamFaultRow] = [Fault.closeMidLine, .reset, .halfClose, .flood].map { fault in
        .init(
            fault: fault, operation: "sslhandshake",
            lua: """
                local s = open(1000)
                show("handshake", s:sslhandshake(nil, "localhost", false))
                show("send", s:send("x")) show("close", s:close())
                """,
            expected: "handshake nil handshake failed\nsend nil closed\nclose nil closed\n")
    } + [
        .init(
            fault: .mute, operation: "sslhandshake",
            lua: """
                local s = open(150)
                show("handshake", s:sslhandshake(nil, "localhost", false))
                show("send", s:send("x")) show("close", s:close())
                """,
            expected: "handshake nil timeout\nsend nil closed\nclose nil closed\n")
    ]

    static let udp: [UpstreamFaultRow] = [
        .init(
            fault: .udpMute, operation: "udp receive",
            lua: """
                local u = ngx.socket.udp() u:settimeout(100)
                show("peer", u:setpeername("127.0.0.1", PORT)) show("send", u:send("anyone?"))
                show("receive", u:receive()) show("send", u:send("again")) show("close", u:close())
                """,
            expected: "peer 1\nsend 1\nreceive nil timeout\nsend 1\nclose 1\n"),
        .init(
            fault: .udpRefused, operation: "udp receive",
            lua: """
                local u = ngx.socket.udp() u:settimeout(300)
                show("peer", u:setpeername("127.0.0.1", PORT)) show("send", u:send("anyone?"))
                show("receive", u:receive()) show("close", u:close())
                """,
            expected: "peer 1\nsend 1\nreceive nil connection refused\nclose 1\n"),
        .init(
            fault: .udpFlood, operation: "udp receive(10)",
            lua: """
                local u = ngx.socket.udp() u:settimeout(300)
                u:setpeername("127.0.0.1", PORT)
                u:send("a") show("receive(10)", u:receive(10))
                u:send("b") local data = u:receive() show("receive()", #data) show("close", u:close())
                """,
            expected: "receive(10) uuuuuuuuuu\nreceive() 65507\nclose 1\n"),
    ]
}
