import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What `/proc` tells about a measured process: its CPU time and its peak resident memory.
enum ProcessStats {
    /// User + system CPU seconds of a running process (`/proc/<pid>/stat` fields 14 and 15).
    static func cpuSeconds(of pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        // Fields after the command name start at field 3 (state); utime is 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// `VmHWM` of a running process, in KiB. Polled every millisecond or two while a measured
    /// child runs, on the cores it runs on: one read(2) into a stack buffer, no strings.
    static func highWaterMarkKiB(_ pid: pid_t) -> Int? {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { buffer -> Int? in
            let count = read(fd, buffer.baseAddress!, buffer.count)
            guard count > 0 else { return nil }
            let text = UnsafeBufferPointer(rebasing: buffer[..<count])
            let label: StaticString = "\nVmHWM:"
            let length = label.utf8CodeUnitCount
            var start = 0
            while start + length <= count, memcmp(text.baseAddress! + start, label.utf8Start, length) != 0 { start += 1 }
            guard start + length <= count else { return nil }
            let at = start + length
            var value = 0
            var sawDigit = false
            for byte in text[at...] {
                if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                    value = value * 10 + Int(byte - UInt8(ascii: "0"))
                    sawDigit = true
                } else if sawDigit || byte == UInt8(ascii: "\n") {
                    break
                }
            }
            return sawDigit ? value : nil
        }
    }
}
