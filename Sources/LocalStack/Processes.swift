import Foundation

/// moto_server with signature checking on, started through scripts/moto_stack.py. It lives until
/// `stop()` (or until this process ends: its standard input is a pipe that closes with us).
package final class MotoProcess: @unchecked Sendable {
    // Immutable after init; the Process is only touched in init and stop().
    package let endpoint: String
    package let accessKeyId: String
    package let secretAccessKey: String
    package let region: String
    private let process: Process
    private let input: Pipe

    /// - Parameter script: the path of scripts/moto_stack.py.
    /// - Throws: `LocalStackError` `.launch` when python3 or moto is missing.
    package init(script: String, region: String) throws(LocalStackError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--region", region, "--canonical-query"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw LocalStackError(.launch, "cannot run python3 \(script): \(error.localizedDescription)")
        }
        var line = Data()
        let handle = output.fileHandleForReading
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
            let endpoint = object["endpoint"] as? String, let keyId = object["accessKeyId"] as? String,
            let secret = object["secretAccessKey"] as? String
        else {
            process.terminate()
            throw LocalStackError(.launch, "moto did not start (run scripts/setup.sh to install moto[server])")
        }
        self.endpoint = endpoint
        self.accessKeyId = keyId
        self.secretAccessKey = secret
        self.region = region
        self.process = process
        self.input = input
    }

    package func stop() {
        guard process.isRunning else { return }
        try? input.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }

    /// The AWS part of a process environment that talks to this moto.
    package var awsEnvironment: [String: String] {
        [
            "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_ACCESS_KEY_ID": accessKeyId, "AWS_SECRET_ACCESS_KEY": secretAccessKey,
            "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true",
        ]
    }
}

/// Finds files of the repository (scripts, the star-schema specification) and the bootstraps.
package enum Locations {
    /// The first directory, from `start` upwards, that holds `Package.swift` and `scripts/`.
    package static func repositoryRoot(from start: String = FileManager.default.currentDirectoryPath) -> String? {
        var url = URL(fileURLWithPath: start).standardizedFileURL
        for _ in 0..<12 {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path),
                FileManager.default.fileExists(atPath: url.appendingPathComponent("scripts/moto_stack.py").path)
            {
                return url.path
            }
            let parent = url.deletingLastPathComponent()
            if parent.path == url.path { break }
            url = parent
        }
        return nil
    }

    /// The directory of the running executable (where `swift build` puts the bootstraps too).
    package static var executableDirectory: String {
        let path = Bundle.main.executablePath ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: path).resolvingSymlinksInPath().deletingLastPathComponent().path
    }

    package static func isExecutable(_ path: String) -> Bool { FileManager.default.isExecutableFile(atPath: path) }
}
