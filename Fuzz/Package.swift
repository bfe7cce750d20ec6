// swift-tools-version:6.0
import PackageDescription

/// libFuzzer targets for the parsers that read bytes from outside (see Fuzz/README.md).
/// A package of its own so that the main package's `swift build` and `swift test` neither
/// build nor instrument it; `scripts/fuzz` builds it with `-sanitize=fuzzer,address`.
let package = Package(
    name: "CosocketFuzz",
    dependencies: [
        .package(name: "Cosocket", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "cosocket-fuzz",
            dependencies: [
                .product(name: "CosocketServer", package: "Cosocket"),
                .product(name: "CosocketLua", package: "Cosocket"),
            ]
        ),
    ]
)
