// swift-tools-version:6.0
import PackageDescription

/// Release builds skip dynamic exclusivity checks in the server-side modules: profiling put
/// `swift_beginAccess` among the top costs of a request, and their state is confined to one
/// event loop (debug builds and tests keep the checks). Not on the modules behind the
/// `Cosocket` library product: SwiftPM refuses unsafe flags in a dependency.
let performanceSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "Cosocket",
    products: [
        .library(name: "Cosocket", targets: ["Cosocket"]),
        .library(name: "CosocketLua", targets: ["CosocketLua"]),
        /// For the fuzz targets (Fuzz/, a package of its own that depends on this one by path).
        .library(name: "CosocketServer", targets: ["CosocketServer"]),
        .executable(name: "cosocket", targets: ["cosocket"]),
        .executable(name: "cosocket-bench", targets: ["cosocket-bench"]),
    ],
    dependencies: [
        // The descriptor transport relies on how NIO nests and drains its epoll set
        // (DescriptorPollerTests pin it), so NIO stays on the minor version it was checked on.
        .package(url: "https://github.com/apple/swift-nio", .upToNextMinor(from: "2.101.2")),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        /// epoll and eventfd for the engine's readiness set (Glibc's module map leaves them out).
        .target(name: "CEventPoll"),
        .target(
            name: "CosocketCore",
            dependencies: [
                "CEventPoll",
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Cosocket",
            dependencies: [
                "CosocketCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .systemLibrary(name: "CLuaJIT", pkgConfig: "luajit", providers: [.apt(["libluajit2-5.1-dev"])]),
        /// Regular expressions for `ngx.re` and the host's `location ~`/`server_name ~`.
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        /// TLS (libssl) and digests (libcrypto), from Debian's OpenSSL 3.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "CosocketLua",
            dependencies: ["CosocketCore", "CLuaJIT", "CPCRE2", "COpenSSL"],
            swiftSettings: performanceSettings
        ),
        .target(
            name: "CosocketServer",
            dependencies: ["CosocketCore", "CosocketLua", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: performanceSettings
        ),
        .executableTarget(
            name: "cosocket",
            dependencies: [
                "Cosocket", "CosocketLua", "CosocketServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            /// lua-resty-core's FFI finds our `ngx_http_lua_ffi_*` functions (Sources/CosocketLua/FFI).
            linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic"])]
        ),
        /// The Swift API benchmark (bench/compare runs it): our TCPSocket against NIOAsyncChannel.
        .executableTarget(
            name: "cosocket-bench",
            dependencies: [
                "Cosocket", "CosocketCore", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CosocketCoreTests",
            dependencies: ["CosocketCore", "CosocketTestSupport", .product(name: "NIOPosix", package: "swift-nio")]
        ),
        /// Real peers for the tests: redis-server/memcached processes and scripted loopback listeners.
        .target(name: "CosocketTestSupport", path: "Tests/CosocketTestSupport"),
        .testTarget(name: "CosocketTests", dependencies: ["Cosocket", "CosocketTestSupport", .product(name: "NIOPosix", package: "swift-nio")]),
        /// Both Lua suites load lua-resty-core over our FFI exports, as the `cosocket` executable does.
        .testTarget(
            name: "CosocketLuaTests",
            dependencies: ["CosocketLua", "CosocketTestSupport", .product(name: "NIOPosix", package: "swift-nio")],
            linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic"])]
        ),
        .testTarget(
            name: "CosocketServerTests", dependencies: ["CosocketServer", "CosocketCore", "CosocketTestSupport"],
            linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic"])]
        ),
    ]
)
