#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A snapshot of environment variables, read once at start-up and passed down (never read again
/// on a hot path, never a global).
package struct Environment: Sendable, Hashable {
    package var values: [String: String]

    package init(_ values: [String: String] = [:]) { self.values = values }

    /// The process's environment at the moment of the call.
    package static func process() -> Environment { parsing(environ) }

    /// The variables of a NULL-terminated `NAME=value` array such as `environ`.
    package static func parsing(_ entries: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Environment {
        var values: [String: String] = [:]
        var pointer = entries
        while let entry = pointer.pointee {
            // Split at the first "=" on the bytes (a Character search here costs a bootstrap
            // tenths of a millisecond at start-up); entries without one are skipped.
            if let equals = strchr(entry, 0x3D) {
                let nameLength = entry.distance(to: equals)
                let valueStart = equals + 1
                let name = UnsafeRawBufferPointer(start: entry, count: nameLength)
                let value = UnsafeRawBufferPointer(start: valueStart, count: strlen(valueStart))
                values[String(decoding: name, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
            }
            pointer += 1
        }
        return Environment(values)
    }

    /// The value of `name`, or `nil` when unset or empty.
    package subscript(name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }
}

/// Whole-file reads without Foundation.
package enum FileIO {
    package struct Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        package var path: String
        package var errno: Int32
        package var description: String {
            "cannot read \(path): \(String(cString: strerror(errno)))"
        }
    }

    /// Reads the whole file at `path` (at most `limit` bytes).
    package static func read(_ path: String, limit: Int = 64 << 20) throws(FileIO.Error) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Error(path: path, errno: errno) }
        defer { close(fd) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Error(path: path, errno: errno)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { throw Error(path: path, errno: EFBIG) }
        }
        return out
    }

    package static func readString(_ path: String, limit: Int = 64 << 20) throws(FileIO.Error) -> String {
        String(decoding: try read(path, limit: limit), as: UTF8.self)
    }

    /// Writes `bytes` to `path`, replacing it atomically (write to a temporary name, then rename).
    package static func write(_ bytes: [UInt8], to path: String) throws(FileIO.Error) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Error(path: temporary, errno: errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                throw Error(path: temporary, errno: code)
            }
            written += n
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw Error(path: path, errno: errno) }
    }

    package static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
