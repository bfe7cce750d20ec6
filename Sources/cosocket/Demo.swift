import ArgumentParser
import CosocketLua
import CosocketServer
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// `cosocket demo`: serves the embedded demo configuration, whose handlers talk to a backend
/// location of the same server through cosockets, and prints how to query it.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the embedded demo configuration (no external service needed).")

    @Option(help: "The loopback port to listen on.")
    var port: Int = 8080

    @Flag(name: .customLong("print-config"), help: "Print the embedded configuration and exit.")
    var printConfiguration = false

    func run() throws {
        let text = DemoConfiguration.text(port: port)
        if printConfiguration {
            print(text)
            return
        }
        let configuration = try ConfigurationBuilder(prefix: ".").build(try ConfigParser().parse(text, file: "demo.conf"))
        let server = HTTPServer(configuration: configuration, errorLog: ErrorLogFile(path: nil, level: configuration.errorLogLevel))
        let signals = SignalHandlers(label: "cosocket.demo.signals")
        for number in [SIGINT, SIGTERM] { signals.on(number, stops: true) { server.stop() } }
        do {
            try server.start()
        } catch {
            signals.cancel()
            printError("cosocket: [emerg] could not start the demo on 127.0.0.1:\(port): \(error) (try --port)")
            throw ExitCode(1)
        }
        print("""
            cosocket demo: serving the embedded configuration on http://127.0.0.1:\(port)/ \
            (\(configuration.workerProcesses) workers; Ctrl-C stops)
              curl 'http://127.0.0.1:\(port)/?key=hello'   # a cosocket round trip over a keepalive pool
              curl 'http://127.0.0.1:\(port)/fanout'       # three light threads, each a cosocket call
              cosocket demo --print-config                 # the configuration being served
            """)
        fflush(nil)
        signals.activate()
        server.wait()
        signals.cancel()
    }
}
