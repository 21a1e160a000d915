import Foundation

/// Runs blocking work (waiting for a child process, starting moto, sleeping a server thread) on a
/// thread of its own, so it never occupies one of Swift's few cooperative threads. On a 2-core
/// machine the pool has two threads: two tests blocking them would stall every other test's
/// async work, and with it any transfer whose body a task is producing.
package func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try body() })
        }
    }
}

/// `offPool` for work that cannot fail.
package func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}

extension Process {
    /// Waits for the process to exit without blocking a cooperative thread.
    package func waitUntilExitOffPool() async {
        let process = UncheckedBox(self)
        await offPool { process.value.waitUntilExit() }
    }
}

/// Carries a non-Sendable reference to another thread; the caller guarantees exclusive use.
package struct UncheckedBox<Value>: @unchecked Sendable {
    package let value: Value
    package init(_ value: Value) { self.value = value }
}

/// What a finished child process left behind.
package struct ProcessOutput: Sendable {
    package var status: Int32
    package var stdout: [UInt8]
    package var stderr: [UInt8]
    package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    package var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs `arguments` (looked up on the `PATH`, e.g. `["python3", "script.py"]`) to completion with
/// `stdin` as its input, collecting both outputs, all on threads of its own (see `offPool`).
package func runProcess(
    _ arguments: [String], stdin: [UInt8] = [], environment: [String: String]? = nil
) async throws -> ProcessOutput {
    try await offPool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment { process.environment = environment }
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Drain stderr and feed stdin on their own threads so no pipe fills up.
        let errorData = UncheckedBox(NSMutableData())
        let drained = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            errorData.value.append(errors.fileHandleForReading.readDataToEndOfFile())
            drained.signal()
        }
        Thread.detachNewThread {
            input.fileHandleForWriting.write(Data(stdin))
            try? input.fileHandleForWriting.close()
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        drained.wait()
        return ProcessOutput(
            status: process.terminationStatus, stdout: Array(data), stderr: Array(errorData.value as Data))
    }
}
