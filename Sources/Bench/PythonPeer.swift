import Foundation

/// Runs a Python peer script and returns its stdout (the peers print one JSON object).
enum PythonPeer {
    static func run(script: String, in directory: String, arguments: [String]) throws -> [String: Double] {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(script).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw BenchError("no Python peer at \(path) (run from the package root or pass --scripts DIR)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", path] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("python3 \(path) exited with status \(process.terminationStatus) (is botocore installed?)")
        }
        guard let rates = try JSONSerialization.jsonObject(with: data) as? [String: Double] else {
            throw BenchError("python3 \(path) printed something other than {name: rate}")
        }
        return rates
    }
}

/// Prints one row per case: our rate, the peer's, and the ratio.
func printComparison(title: String, cases: [String], ours: [String: Double], peer: [String: Double]?, peerName: String) {
    print(title)
    func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
    print(pad("case", 12) + pad("swift req/s", 16) + pad("\(peerName) req/s", 18) + "ratio")
    for name in cases {
        let swift = ours[name] ?? 0
        var row = pad(name, 12) + pad(String(Int(swift.rounded())), 16)
        if let other = peer?[name], other > 0 {
            row += pad(String(Int(other.rounded())), 18) + String(Int((swift / other).rounded())) + "x"
        }
        print(row)
    }
}
