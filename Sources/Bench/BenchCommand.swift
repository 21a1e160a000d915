import Primitives

/// One `bench` subcommand.
struct BenchCommand: Sendable {
    var name: String
    var summary: String
    var run: @Sendable (BenchOptions) throws -> Void
}

enum BenchCommands {
    /// Every subcommand; add new ones here.
    static let all: [BenchCommand] = [
        SigV4Bench.command,
        S3DownloadBench.command,
        ColdStartBench.command,
        BulkEncodeBench.command,
        ParquetBench.command,
        ParseBench.command,
        DropboxBench.command,
        IngestBench.command,
        StandInBulkBench.command,
    ]

    static var usage: String {
        var text = "usage: bench <subcommand> [--seconds N] [--scripts DIR]\n\nsubcommands:\n"
        for command in all { text += "  \(command.name)\t\(command.summary)\n" }
        text += "\noptions:\n  --seconds N    how long each side runs each case (default 3)\n"
        text += "  --scripts DIR  where the Python peers live (default Benchmarks/python under the current directory)\n"
        return text
    }
}

/// The options every subcommand understands.
struct BenchOptions: Sendable {
    var seconds: Double = 3
    var scriptsDirectory = "Benchmarks/python"
    /// Skip the Python peer (to profile the Swift side alone).
    var swiftOnly = false

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--seconds":
                guard let text = rest.popFirst(), let value = Double(text), value > 0 else {
                    throw BenchError("--seconds needs a positive number")
                }
                seconds = value
            case "--scripts":
                guard let text = rest.popFirst() else { throw BenchError("--scripts needs a directory") }
                scriptsDirectory = text
            case "--swift-only":
                swiftOnly = true
            default:
                throw BenchError("unknown option \(argument)")
            }
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` repeatedly on this thread for `seconds` and returns calls per second.
func measureRate(seconds: Double, _ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start.advanced(by: .milliseconds(Int64(seconds * 1000)))
    var count = 0
    while true {
        for _ in 0..<256 { try body() }
        count += 256
        let now = clock.now
        if now >= deadline {
            let elapsed = start.duration(to: now)
            let secondsElapsed = elapsed.seconds
            return Double(count) / secondsElapsed
        }
    }
}
