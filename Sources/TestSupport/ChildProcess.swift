package import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The binary was not built with the tests.
package struct ExecutableNotBuilt: Error, CustomStringConvertible {
    package let description: String
}

/// An executable product built next to the test bundle (`.build/debug/NAME`), for tests that run
/// the real binaries.
package func builtExecutable(_ name: String) throws -> String {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    // The test bundle may be a directory (…/debug/X.xctest/…) on some set-ups.
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    throw ExecutableNotBuilt(
        description: "\(name) is not built next to the tests (run `swift build --product \(name)` with the same scratch path)")
}

/// A running child process with its output collected in the background.
package final class ChildProcess: @unchecked Sendable {
    // `process` is configured in init only; the output buffers are guarded by `lock`.
    package let process = Process()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let stdinPipe = Pipe()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private let readers = DispatchGroup()

    package init(_ path: String, arguments: [String] = [], environment: [String: String], stdin: [UInt8]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        process.standardInput = stdinPipe
        try process.run()
        collect(stdoutPipe) { data in self.lock.withLock { self.out.append(data) } }
        collect(stderrPipe) { data in self.lock.withLock { self.err.append(data) } }
        if let stdin { stdinPipe.fileHandleForWriting.write(Data(stdin)) }
        try? stdinPipe.fileHandleForWriting.close()
    }

    private func collect(_ pipe: Pipe, _ append: @escaping @Sendable (Data) -> Void) {
        readers.enter()
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [readers] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                append(data)
            }
            readers.leave()
        }
    }

    package var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    package var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }

    package func terminate() { kill(process.processIdentifier, SIGTERM) }

    /// Waits for the exit (killing the child after `timeout`) and for its output; the exit status.
    @discardableResult
    package func wait(timeout: Double = 30) async -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        await process.waitUntilExitOffPool()
        let readers = UncheckedBox(self.readers)
        await offPool { _ = readers.value.wait(timeout: .now() + 5) }
        return process.terminationStatus
    }

    package var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
    package var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
}
