#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
package import JSONCodec
package import Primitives
import Synchronization

/// Log levels, in the names `AWS_LAMBDA_LOG_LEVEL` uses.
package enum LogLevel: Int, Sendable, Hashable, Comparable, CaseIterable {
    case trace, debug, info, warn, error, fatal

    package var name: String {
        switch self {
        case .trace: "TRACE"
        case .debug: "DEBUG"
        case .info: "INFO"
        case .warn: "WARN"
        case .error: "ERROR"
        case .fatal: "FATAL"
        }
    }

    /// Parses a level name, ignoring case (`WARNING` is accepted for `WARN`).
    package init?(name: String) {
        let upper = name.uppercased()
        if upper == "WARNING" {
            self = .warn
            return
        }
        guard let level = Self.allCases.first(where: { $0.name == upper }) else { return nil }
        self = level
    }

    package static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// `AWS_LAMBDA_LOG_FORMAT`: one JSON object per line (the default) or tab-separated text.
package enum LogFormat: String, Sendable, Hashable {
    case json = "JSON"
    case text = "Text"

    package init?(name: String) {
        switch name.lowercased() {
        case "json": self = .json
        case "text": self = .text
        default: return nil
        }
    }
}

// MARK: - Sinks

/// Where finished log lines (and EMF documents) go. Each call hands over one whole line, newline
/// included, so a sink can write it with a single `write(2)`.
package protocol LogSink: Sendable {
    func write(_ line: [UInt8])
}

/// Writes each line with one `write(2)` to a file descriptor (standard output in Lambda, standard
/// error in replay), synchronously, so nothing is lost if the process is stopped.
package struct FileDescriptorSink: LogSink {
    package let fd: Int32
    package init(fd: Int32) { self.fd = fd }

    package static let standardOutput = FileDescriptorSink(fd: 1)
    package static let standardError = FileDescriptorSink(fd: 2)

    package func write(_ line: [UInt8]) {
        line.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }
}

/// Keeps lines in memory, for tests.
package final class MemoryLogSink: LogSink {
    private let stored = Mutex<[String]>([])
    package init() {}
    package func write(_ line: [UInt8]) {
        var text = String(decoding: line, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        stored.withLock { $0.append(text) }
    }
    package var lines: [String] { stored.withLock { $0 } }
    package func clear() { stored.withLock { $0.removeAll() } }
}

// MARK: - Redaction

/// Keeps secrets out of log lines: fields whose names look secret lose their values, and the values
/// of known secrets (credentials from the environment) are masked wherever they appear.
package struct Redactor: Sendable {
    package static let mask = "[REDACTED]"
    private static let secretNameParts = [
        "secret", "password", "passwd", "token", "authorization", "credential", "signature", "apikey", "api_key",
        "privatekey", "private_key", "sessionkey",
    ]

    /// Byte strings that must never be written.
    package private(set) var secrets: [[UInt8]]

    package init(secrets: [String] = []) {
        self.secrets = secrets.filter { $0.utf8.count >= 6 }.map { Array($0.utf8) }
    }

    /// Collects the values of `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` and of
    /// any variable whose name looks secret.
    package init(environment: Environment) {
        var values: [String] = []
        for (name, value) in environment.values {
            if name == "AWS_ACCESS_KEY_ID" || Self.isSecretName(name) { values.append(value) }
        }
        self.init(secrets: values.filter { $0.utf8.count >= 8 })
    }

    private static let secretNamePartBytes = secretNameParts.map { Array($0.utf8) }

    /// Whether a field or variable called `name` holds a secret.
    ///
    /// ASCII names (all of them in practice: every environment variable and log field) are compared
    /// byte by byte, which keeps start-up cheap (it runs for every environment variable); any other
    /// name takes the Unicode path (`lowercased()` can turn a non-ASCII character into an ASCII
    /// letter, as the Kelvin sign becomes "k").
    package static func isSecretName(_ name: String) -> Bool {
        var lower = Array(name.utf8)
        for index in lower.indices {
            let byte = lower[index]
            if byte >= 0x80 {
                let unicode = name.lowercased()
                return secretNameParts.contains { unicode.contains($0) }
            }
            if byte >= 0x41, byte <= 0x5A { lower[index] = byte | 0x20 }
        }
        return secretNamePartBytes.contains { part in containsBytes(lower, part) }
    }

    private static func containsBytes(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<start + needle.count].elementsEqual(needle) { return true }
        }
        return false
    }

    /// `fields` with the values of secret-looking members (at any depth) masked.
    package func scrub(_ fields: JSONObject) -> JSONObject {
        var out = JSONObject()
        for member in fields {
            if Self.isSecretName(member.key) {
                out.append(member.key, .string(Self.mask))
            } else if case .object(let nested) = member.value {
                out.append(member.key, .object(scrub(nested)))
            } else {
                out.append(member.key, member.value)
            }
        }
        return out
    }

    /// `line` with every known secret replaced by the mask.
    package func scrub(_ line: [UInt8]) -> [UInt8] {
        var line = line
        for secret in secrets { line = Self.replacing(secret, in: line) }
        return line
    }

    private static func replacing(_ needle: [UInt8], in haystack: [UInt8]) -> [UInt8] {
        guard let first = needle.first, haystack.count >= needle.count else { return haystack }
        var out: [UInt8]? = nil
        var index = 0
        var copied = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first, haystack[index..<index + needle.count].elementsEqual(needle) {
                if out == nil { out = [] }
                out!.append(contentsOf: haystack[copied..<index])
                out!.append(contentsOf: mask.utf8)
                index += needle.count
                copied = index
            } else {
                index += 1
            }
        }
        guard var result = out else { return haystack }
        result.append(contentsOf: haystack[copied...])
        return result
    }
}

// MARK: - Logger

/// A small structured logger: JSON lines (timestamp, level, message, request id, trace id, cold
/// start, then structured fields) or Lambda's tab-separated text, written synchronously to a sink.
/// A value: `with(_:_:)` returns a copy carrying one more field for every line.
package struct Logger: Sendable {
    package var level: LogLevel
    package var format: LogFormat
    package let sink: any LogSink
    package var redactor: Redactor
    package let clock: any WallClock
    /// Fields every line carries, after the message (request id, trace id, cold start…).
    package var metadata: JSONObject

    package init(
        level: LogLevel = .info,
        format: LogFormat = .json,
        sink: any LogSink,
        redactor: Redactor = Redactor(),
        clock: any WallClock = SystemClock(),
        metadata: JSONObject = [:]
    ) {
        self.level = level
        self.format = format
        self.sink = sink
        self.redactor = redactor
        self.clock = clock
        self.metadata = metadata
    }

    /// A copy whose lines also carry `key`.
    package func with(_ key: String, _ value: JSON) -> Logger {
        var copy = self
        copy.metadata[key] = value
        return copy
    }

    package func isEnabled(_ level: LogLevel) -> Bool { level >= self.level }

    package func trace(_ message: @autoclosure () -> String, _ fields: JSONObject = [:]) { log(.trace, message(), fields) }
    package func debug(_ message: @autoclosure () -> String, _ fields: JSONObject = [:]) { log(.debug, message(), fields) }
    package func info(_ message: @autoclosure () -> String, _ fields: JSONObject = [:]) { log(.info, message(), fields) }
    package func warn(_ message: @autoclosure () -> String, _ fields: JSONObject = [:]) { log(.warn, message(), fields) }
    package func error(_ message: @autoclosure () -> String, _ fields: JSONObject = [:]) { log(.error, message(), fields) }
    package func fatal(_ message: @autoclosure () -> String, _ fields: JSONObject = [:]) { log(.fatal, message(), fields) }

    package func log(_ level: LogLevel, _ message: @autoclosure () -> String, _ fields: JSONObject = [:]) {
        guard isEnabled(level) else { return }
        sink.write(redactor.scrub(render(level, message(), fields)))
    }

    /// One finished line, newline included (before the secret values are masked).
    package func render(_ level: LogLevel, _ message: String, _ fields: JSONObject) -> [UInt8] {
        let timestamp = clock.now().iso8601(fractionDigits: 3)
        var out = [UInt8]()
        out.reserveCapacity(160 + message.utf8.count)
        switch format {
        case .json:
            out.append(contentsOf: #"{"timestamp":""#.utf8)
            out.append(contentsOf: timestamp.utf8)
            out.append(contentsOf: #"","level":""#.utf8)
            out.append(contentsOf: level.name.utf8)
            out.append(contentsOf: #"","message":"#.utf8)
            JSONWriter.writeString(message, to: &out)
            for member in redactor.scrub(metadata) { appendMember(member, to: &out) }
            for member in redactor.scrub(fields) { appendMember(member, to: &out) }
            out.append(UInt8(ascii: "}"))
        case .text:
            out.append(contentsOf: timestamp.utf8)
            out.append(0x09)
            out.append(contentsOf: level.name.utf8)
            out.append(0x09)
            out.append(contentsOf: (metadata["requestId"]?.stringValue ?? "-").utf8)
            out.append(0x09)
            out.append(contentsOf: message.utf8.map { $0 == 0x0A ? 0x20 : $0 })
            for member in redactor.scrub(metadata) where member.key != "requestId" { appendText(member, to: &out) }
            for member in redactor.scrub(fields) { appendText(member, to: &out) }
        }
        out.append(0x0A)
        return out
    }

    private func appendMember(_ member: JSONObject.Member, to out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        JSONWriter.writeString(member.key, to: &out)
        out.append(UInt8(ascii: ":"))
        JSONWriter.write(member.value, to: &out)
    }

    private func appendText(_ member: JSONObject.Member, to out: inout [UInt8]) {
        out.append(0x20)
        out.append(contentsOf: member.key.utf8)
        out.append(UInt8(ascii: "="))
        if case .string(let text) = member.value {
            out.append(contentsOf: text.utf8.map { $0 == 0x0A ? 0x20 : $0 })
        } else {
            JSONWriter.write(member.value, to: &out)
        }
    }
}
