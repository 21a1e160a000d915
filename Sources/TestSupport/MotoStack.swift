package import Foundation

/// A real `moto_server` on a loopback port, started by `scripts/moto_stack.py` with signature
/// checking on (unless `auth` is false). The server lives until this value's process ends: its
/// standard input is a pipe that closes with the test process.
package final class MotoStack: @unchecked Sendable {
    // Immutable after init; Process and Pipe are only touched in init and stop().
    package let endpoint: String
    package let port: Int
    package let accessKeyId: String
    package let secretAccessKey: String
    package let region: String
    package let checksSignatures: Bool
    private let process: Process
    private let stdin: Pipe

    package struct LaunchError: Error, CustomStringConvertible {
        package let description: String
    }

    /// The repository's root, found from this file's location.
    package static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Starts a new server and waits until it has printed its endpoint and key.
    /// - Parameter options: more options for `moto_stack.py` (`--canonical-query`).
    package init(auth: Bool = true, region: String = "us-east-1", options: [String] = []) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", Self.repositoryRoot.appendingPathComponent("scripts/moto_stack.py").path, "--region", region]
        if !auth { arguments.append("--no-auth") }
        arguments += options
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Read one line.
        var line = Data()
        let handle = stdout.fileHandleForReading
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
            let endpoint = object["endpoint"] as? String, let port = object["port"] as? Int,
            let keyId = object["accessKeyId"] as? String, let secret = object["secretAccessKey"] as? String
        else {
            process.terminate()
            throw LaunchError(
                description: "moto did not start (is `pip install 'moto[server]'` done?): \(String(decoding: line, as: UTF8.self))")
        }
        self.endpoint = endpoint
        self.port = port
        self.accessKeyId = keyId
        self.secretAccessKey = secret
        self.region = region
        self.checksSignatures = auth
        self.process = process
        self.stdin = stdin
    }

    /// Stops the server.
    package func stop() {
        try? stdin.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }

    /// The environment a client or handler needs to talk to this server.
    package var environment: [String: String] {
        [
            "AWS_REGION": region, "AWS_ACCESS_KEY_ID": accessKeyId, "AWS_SECRET_ACCESS_KEY": secretAccessKey,
            "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true",
        ]
    }
}

/// One signature-checking moto per test process, started on first use and shared by every suite
/// (starting moto takes a second or more). The start runs off Swift's cooperative pool, and
/// concurrent callers wait for the same start.
package enum SharedMoto {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var starts: [Bool: Task<MotoStack, any Error>] = [:]

    package static func get(auth: Bool = true) async throws -> MotoStack {
        let start: Task<MotoStack, any Error> = lock.withLock {
            if let existing = starts[auth] { return existing }
            let task = Task<MotoStack, any Error> { try await offPool { try MotoStack(auth: auth) } }
            starts[auth] = task
            return task
        }
        return try await start.value
    }
}
