#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's driver, called from our own `main`: SwiftPM links an executable target's entry
/// point as `main`, so libFuzzer's (which would call `LLVMFuzzerTestOneInput`) is not used.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

selectTarget()
var argumentCount = CommandLine.argc
var arguments = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argumentCount, &arguments, { data, size in fuzzerTestOneInput(data, size) }))
