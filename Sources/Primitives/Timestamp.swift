#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in UTC time with nanosecond precision, formatted and parsed by hand so that no
/// binary needs Foundation's calendars (which bring ICU along).
package struct Timestamp: Sendable, Hashable, Comparable {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    package var nanosecondsSinceEpoch: Int64

    package init(nanosecondsSinceEpoch: Int64) { self.nanosecondsSinceEpoch = nanosecondsSinceEpoch }
    /// Times beyond what nanoseconds in an `Int64` hold (1677-09-21 to 2262-04-11) are clamped to
    /// the nearest end, so a hostile number (a header, an attribute) cannot trap.
    package init(secondsSinceEpoch: Int64) { self.nanosecondsSinceEpoch = secondsSinceEpoch.saturatingMultiply(1_000_000_000) }
    /// Clamped like `init(secondsSinceEpoch:)`.
    package init(millisecondsSinceEpoch: Int64) { self.nanosecondsSinceEpoch = millisecondsSinceEpoch.saturatingMultiply(1_000_000) }

    package var secondsSinceEpoch: Int64 { nanosecondsSinceEpoch.floorDiv(1_000_000_000) }
    package var millisecondsSinceEpoch: Int64 { nanosecondsSinceEpoch.floorDiv(1_000_000) }

    package static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch
    }

    /// Clamped like `init(secondsSinceEpoch:)`.
    package func adding(seconds: Int64) -> Timestamp {
        Timestamp(nanosecondsSinceEpoch: nanosecondsSinceEpoch.saturatingAdd(seconds.saturatingMultiply(1_000_000_000)))
    }
    /// Clamped like `init(secondsSinceEpoch:)`.
    package func adding(milliseconds: Int64) -> Timestamp {
        Timestamp(nanosecondsSinceEpoch: nanosecondsSinceEpoch.saturatingAdd(milliseconds.saturatingMultiply(1_000_000)))
    }

    /// Calendar fields in UTC.
    package struct Components: Sendable, Hashable {
        package var year: Int, month: Int, day: Int
        package var hour: Int, minute: Int, second: Int, nanosecond: Int
    }

    package var components: Components {
        let seconds = secondsSinceEpoch
        let nanos = Int(nanosecondsSinceEpoch - seconds * 1_000_000_000)
        let days = seconds.floorDiv(86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = Self.civil(fromDays: days)
        return Components(
            year: year, month: month, day: day,
            hour: secondOfDay / 3600, minute: secondOfDay / 60 % 60, second: secondOfDay % 60, nanosecond: nanos
        )
    }

    /// The time of `c` (clamped like `init(secondsSinceEpoch:)`).
    package init(_ c: Components) {
        let seconds = Self.seconds(of: c)
        self.nanosecondsSinceEpoch = seconds.saturatingMultiply(1_000_000_000).saturatingAdd(Int64(c.nanosecond))
    }

    /// The time of `c` shifted by `offsetSeconds`; nil when it is outside what nanoseconds in an
    /// `Int64` hold (before 1677-09-21 or after 2262-04-11), which a parsed text can ask for.
    package init?(exactly c: Components, minusSeconds offsetSeconds: Int = 0) {
        let seconds = Self.seconds(of: c) - Int64(offsetSeconds)
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflowAgain) = scaled.addingReportingOverflow(Int64(c.nanosecond))
        guard !overflow, !overflowAgain else { return nil }
        self.nanosecondsSinceEpoch = total
    }

    /// Seconds since the epoch of `c` (years of up to four digits and fields in their usual
    /// ranges cannot overflow this).
    private static func seconds(of c: Components) -> Int64 {
        days(fromCivil: c.year, c.month, c.day) * 86_400 + Int64(c.hour * 3600 + c.minute * 60 + c.second)
    }

    /// Days since the epoch of a proleptic Gregorian date (Howard Hinnant's algorithm).
    package static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The Gregorian date of a day number since the epoch.
    package static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    // MARK: Formatting

    /// `20150830T123600Z`, the form of `X-Amz-Date`.
    package var amzDate: String {
        let c = components
        var out = [UInt8]()
        out.reserveCapacity(16)
        Self.append(c.year, width: 4, to: &out)
        Self.append(c.month, width: 2, to: &out)
        Self.append(c.day, width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        Self.append(c.hour, width: 2, to: &out)
        Self.append(c.minute, width: 2, to: &out)
        Self.append(c.second, width: 2, to: &out)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `20150830`, the date of a SigV4 credential scope.
    package var dateStamp: String {
        let c = components
        var out = [UInt8]()
        out.reserveCapacity(8)
        Self.append(c.year, width: 4, to: &out)
        Self.append(c.month, width: 2, to: &out)
        Self.append(c.day, width: 2, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `2015-08-30T12:36:00.123Z` (`fractionDigits` 0, 3 or 6).
    package func iso8601(fractionDigits: Int = 3) -> String {
        let c = components
        var out = [UInt8]()
        out.reserveCapacity(27)
        Self.append(c.year, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        Self.append(c.month, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        Self.append(c.day, width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        Self.append(c.hour, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        Self.append(c.minute, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        Self.append(c.second, width: 2, to: &out)
        switch fractionDigits {
        case 3:
            out.append(UInt8(ascii: "."))
            Self.append(c.nanosecond / 1_000_000, width: 3, to: &out)
        case 6:
            out.append(UInt8(ascii: "."))
            Self.append(c.nanosecond / 1_000, width: 6, to: &out)
        default: break
        }
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `yyyy-MM-dd` (the date part, UTC).
    package var isoDate: String {
        let c = components
        var out = [UInt8]()
        Self.append(c.year, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        Self.append(c.month, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        Self.append(c.day, width: 2, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    static func append(_ value: Int, width: Int, to out: inout [UInt8]) {
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var rest = value
        var index = width - 1
        while index >= 0 {
            digits[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            index -= 1
        }
        out.append(contentsOf: digits)
    }

    // MARK: Parsing

    /// Parses ISO 8601 / RFC 3339 date-times: `2015-08-30T12:36:00Z`, with an optional fraction
    /// and a `Z` or `±hh:mm` offset; also the basic form `20150830T123600Z`. `nil` when malformed,
    /// or outside 1677-09-21 to 2262-04-11 (what nanoseconds in an `Int64` hold).
    package init?(iso8601 text: some StringProtocol) {
        self.init(iso8601UTF8: Array(text.utf8)[...])
    }

    /// `init(iso8601:)` over UTF-8 bytes (a slice of a larger buffer), without copying them.
    package init?(iso8601UTF8 bytes: ArraySlice<UInt8>) {
        var p = DigitParser(bytes)
        guard let year = p.number(4) else { return nil }
        let extended = p.skip(UInt8(ascii: "-"))
        guard let month = p.number(2), (1...12).contains(month) else { return nil }
        if extended { guard p.skip(UInt8(ascii: "-")) else { return nil } }
        guard let day = p.number(2), (1...31).contains(day) else { return nil }
        guard p.skip(UInt8(ascii: "T")) || p.skip(UInt8(ascii: "t")) || p.skip(UInt8(ascii: " ")) else { return nil }
        guard let hour = p.number(2), hour < 24 else { return nil }
        if extended { guard p.skip(UInt8(ascii: ":")) else { return nil } }
        guard let minute = p.number(2), minute < 60 else { return nil }
        if extended { guard p.skip(UInt8(ascii: ":")) else { return nil } }
        guard let second = p.number(2), second <= 60 else { return nil }
        var nanos = 0
        if p.skip(UInt8(ascii: ".")) || p.skip(UInt8(ascii: ",")) {
            var scale = 100_000_000
            var count = 0
            while let digit = p.digit() {
                nanos += digit * scale
                scale /= 10
                count += 1
            }
            guard count > 0 else { return nil }
        }
        var offsetSeconds = 0
        if p.skip(UInt8(ascii: "Z")) || p.skip(UInt8(ascii: "z")) {
        } else if let sign = p.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            _ = p.advance()
            guard let oh = p.number(2) else { return nil }
            _ = p.skip(UInt8(ascii: ":"))
            guard let om = p.number(2) else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        guard p.atEnd else { return nil }
        self.init(
            exactly: Components(year: year, month: month, day: day, hour: hour, minute: minute, second: second, nanosecond: nanos),
            minusSeconds: offsetSeconds)
    }

    /// Parses a plain `yyyy-MM-dd` date as midnight UTC (`nil` when malformed or out of range, as
    /// with `init(iso8601:)`).
    package init?(isoDate text: some StringProtocol) {
        self.init(isoDateUTF8: Array(text.utf8)[...])
    }

    /// `init(isoDate:)` over UTF-8 bytes, without copying them.
    package init?(isoDateUTF8 bytes: ArraySlice<UInt8>) {
        var p = DigitParser(bytes)
        guard let year = p.number(4), p.skip(UInt8(ascii: "-")), let month = p.number(2), (1...12).contains(month),
            p.skip(UInt8(ascii: "-")), let day = p.number(2), (1...31).contains(day), p.atEnd
        else { return nil }
        self.init(exactly: Components(year: year, month: month, day: day, hour: 0, minute: 0, second: 0, nanosecond: 0))
    }
}

private struct DigitParser {
    let bytes: ArraySlice<UInt8>
    var index: Int
    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }
    var atEnd: Bool { index == bytes.endIndex }
    func peek() -> UInt8? { index < bytes.endIndex ? bytes[index] : nil }
    mutating func advance() -> UInt8? {
        guard index < bytes.endIndex else { return nil }
        defer { index += 1 }
        return bytes[index]
    }
    mutating func skip(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }
    mutating func digit() -> Int? {
        guard let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        index += 1
        return Int(byte - UInt8(ascii: "0"))
    }
    mutating func number(_ width: Int) -> Int? {
        var value = 0
        for _ in 0..<width {
            guard let d = digit() else { return nil }
            value = value * 10 + d
        }
        return value
    }
}

extension Int64 {
    @inline(__always)
    fileprivate func saturatingMultiply(_ factor: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: factor)
        if !overflow { return product }
        return (self < 0) != (factor < 0) ? .min : .max
    }

    @inline(__always)
    fileprivate func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        if !overflow { return sum }
        return other < 0 ? .min : .max
    }

    @inline(__always)
    fileprivate func floorDiv(_ divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}

// MARK: - The clock seam

/// Where the current wall-clock time comes from. Production code reads `SystemClock`; tests pass
/// a clock they control.
package protocol WallClock: Sendable {
    func now() -> Timestamp
}

/// The real time, from `clock_gettime(CLOCK_REALTIME)`.
package struct SystemClock: WallClock {
    package init() {}
    package func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(nanosecondsSinceEpoch: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
    }
}

/// A clock that stands still until told to move, for tests.
package final class ManualClock: WallClock, @unchecked Sendable {
    // A one-field box guarded by a lock: safe to share.
    private let lock = Lock()
    private var current: Timestamp
    package init(_ start: Timestamp) { current = start }
    package func now() -> Timestamp { lock.withLock { current } }
    package func advance(seconds: Int64) { lock.withLock { current = current.adding(seconds: seconds) } }
    package func set(_ time: Timestamp) { lock.withLock { current = time } }
}

extension Duration {
    /// The duration in whole milliseconds (rounded toward zero).
    package var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// The duration in whole nanoseconds (rounded toward zero).
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The duration in seconds, as a `Double`.
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
