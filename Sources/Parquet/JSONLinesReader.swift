import Primitives

/// Reads JSON lines (one object per line) straight into a `ParquetWriter`'s columns, converting
/// each member by its column's type without building intermediate values:
///
/// | column | accepted JSON |
/// | --- | --- |
/// | boolean | `true`, `false` |
/// | int32, int64 | integers (no fraction or exponent) within range |
/// | double | any number |
/// | string | strings (escapes decoded, UTF-8 checked) |
/// | date | `"yyyy-MM-dd"` |
/// | timestampMillis | `"yyyy-MM-ddTHH:mm:ss[.fff][Z|±hh:mm]"` (no zone means UTC; digits below the millisecond must be 0), or integer epoch milliseconds |
/// | decimal | numbers or numeric strings, converted exactly |
///
/// `null` or a missing key is a null. A line that fails is a typed error naming its line and
/// column, and leaves nothing of itself in the writer, so the caller may record it and go on.
package struct JSONLinesReader {
    /// What to do with a key the schema does not have.
    package enum UnknownKeys: Sendable {
        case ignore
        case reject
    }

    /// The column names back to back, and where each starts and stops.
    let keyBytes: [UInt8]
    let keyStarts: [Int]
    let keyEnds: [Int]
    let types: [ParquetType]
    let unknownKeys: UnknownKeys
    /// Lines read so far (the next line's number is this plus one).
    package private(set) var linesRead = 0
    /// The offset in the last buffer given to `appendLines` just after the last line it dealt
    /// with, including a line that failed: resume there to skip a bad line.
    package private(set) var resumeOffset = 0
    private var seen: [UInt32]
    private var generation: UInt32 = 0
    private var scratch: [UInt8] = []
    private var lastColumn = -1

    package init(schema: ParquetSchema, unknownKeys: UnknownKeys = .ignore) {
        var bytes: [UInt8] = []
        var starts: [Int] = []
        var ends: [Int] = []
        for column in schema.columns {
            starts.append(bytes.count)
            bytes.append(contentsOf: column.name.utf8)
            ends.append(bytes.count)
        }
        keyBytes = bytes
        keyStarts = starts
        keyEnds = ends
        types = schema.columns.map(\.type)
        self.unknownKeys = unknownKeys
        seen = [UInt32](repeating: 0, count: schema.columns.count)
    }

    /// Reads every complete (newline-terminated) line of `buffer` into `writer`, stopping early
    /// after a line that fills the row group.
    /// - Returns: the bytes consumed; the rest (a partial line, or lines after a full row group)
    ///   must be given again, with more data appended or after a flush.
    /// - Throws: `ParquetError` for a bad line; `resumeOffset` is then just past that line.
    package mutating func appendLines(_ buffer: UnsafeRawBufferPointer, to writer: inout ParquetWriter) throws(ParquetError)
        -> Int
    {
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        var start = 0
        resumeOffset = 0
        while start < buffer.count {
            guard let newline = findNewline(base, from: start, to: buffer.count) else { break }
            resumeOffset = newline + 1
            try appendLine(UnsafeBufferPointer(start: base + start, count: newline - start), to: &writer)
            start = newline + 1
            if writer.rowGroupIsFull { break }
        }
        return start
    }

    /// Reads one line (without its newline) into `writer`; a blank line is skipped.
    /// - Throws: `ParquetError` (`malformedJSON`, `typeMismatch`, `duplicateKey`, `unknownKey`,
    ///   `nullInRequiredColumn`, range, decimal, date and timestamp errors) with the line number.
    package mutating func appendLine(_ line: UnsafeBufferPointer<UInt8>, to writer: inout ParquetWriter) throws(ParquetError) {
        linesRead += 1
        guard let base = line.baseAddress else { return }
        var scanner = LineScanner(base: base, end: line.count)
        scanner.skipWhitespace()
        if scanner.atEnd { return }
        generation &+= 1
        if generation == 0 {
            for i in seen.indices { seen[i] = 0 }
            generation = 1
        }
        do throws(ParquetError) {
            try readObject(&scanner, into: &writer)
        } catch {
            for column in seen.indices where seen[column] == generation { writer.columns[column].removeLastRow() }
            var located = error
            located.line = linesRead
            throw located
        }
        writer.rowAppended()
    }

    private mutating func readObject(_ s: inout LineScanner, into writer: inout ParquetWriter) throws(ParquetError) {
        guard s.consume(UInt8(ascii: "{")) else { throw s.malformed("a line must be a JSON object") }
        s.skipWhitespace()
        if !s.consume(UInt8(ascii: "}")) {
            while true {
                guard s.peek == UInt8(ascii: "\"") else { throw s.malformed("expected a key") }
                let column = try findColumn(&s)
                s.skipWhitespace()
                guard s.consume(UInt8(ascii: ":")) else { throw s.malformed("expected ':' after a key") }
                s.skipWhitespace()
                if column >= 0 {
                    guard seen[column] != generation else {
                        throw ParquetError(.duplicateKey, "the key appears twice in one line", column: name(column))
                    }
                    try readValue(&s, column: column, into: &writer)
                    // Marked only once the value is in: a rollback removes exactly the marked ones.
                    seen[column] = generation
                } else {
                    try s.skipValue(depth: 0)
                }
                s.skipWhitespace()
                if s.consume(UInt8(ascii: ",")) {
                    s.skipWhitespace()
                    continue
                }
                guard s.consume(UInt8(ascii: "}")) else { throw s.malformed("expected ',' or '}'") }
                break
            }
        }
        s.skipWhitespace()
        guard s.atEnd else { throw s.malformed("more after the object on the same line") }
        for column in seen.indices where seen[column] != generation {
            try writer.columns[column].appendNull()
            seen[column] = generation
        }
    }

    private func name(_ index: Int) -> String { String(decoding: keyBytes[keyStarts[index]..<keyEnds[index]], as: UTF8.self) }

    /// Reads a key and finds its column (-1 for an unknown key that is ignored).
    @inline(__always)
    private mutating func findColumn(_ s: inout LineScanner) throws(ParquetError) -> Int {
        let (start, count, escaped) = try s.scanString()
        var key = UnsafeBufferPointer(start: s.base + start, count: count)
        if escaped {
            scratch.removeAll(keepingCapacity: true)
            try s.unescape(start, count, into: &scratch)
            return try scratch.withUnsafeBufferPointer { unescaped throws(ParquetError) in try match(unescaped) }
        }
        key = UnsafeBufferPointer(start: s.base + start, count: count)
        return try match(key)
    }

    @inline(__always)
    private mutating func match(_ key: UnsafeBufferPointer<UInt8>) throws(ParquetError) -> Int {
        // Lines usually list their members in the same order: try the column after the last one first.
        let count = keyStarts.count
        let guess = lastColumn + 1 < count ? lastColumn + 1 : 0
        if equal(guess, key) {
            lastColumn = guess
            return guess
        }
        for index in 0..<count where index != guess && equal(index, key) {
            lastColumn = index
            return index
        }
        if unknownKeys == .reject {
            throw ParquetError(.unknownKey, "a key that is not in the schema: \(String(decoding: key, as: UTF8.self))")
        }
        return -1
    }

    @inline(__always)
    private func equal(_ column: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = keyStarts[column]
        guard keyEnds[column] - start == key.count else { return false }
        if key.isEmpty { return true }
        return keyBytes.withUnsafeBytes { memcmpBytes($0.baseAddress! + start, UnsafeRawPointer(key.baseAddress!), key.count) }
    }

    // MARK: Values

    private mutating func readValue(_ s: inout LineScanner, column: Int, into writer: inout ParquetWriter) throws(ParquetError) {
        guard let first = s.peek else { throw s.malformed("a line ends where a value was expected") }
        if first == UInt8(ascii: "n") {
            try s.literal("null")
            try writer.columns[column].appendNull()
            return
        }
        let type = types[column]
        func mismatch(_ what: String) -> ParquetError {
            ParquetError(.typeMismatch, "\(what) in a \(type) column", column: name(column))
        }
        switch type {
        case .string:
            guard first == UInt8(ascii: "\"") else { throw mismatch("a \(s.kindName) where a string belongs") }
            let (start, count, escaped) = try s.scanString()
            if escaped {
                scratch.removeAll(keepingCapacity: true)
                try s.unescape(start, count, into: &scratch)
                let result = scratch.withUnsafeBytes { bytes in
                    Result { () throws(ParquetError) in try writer.columns[column].appendBytes(bytes) }
                }
                try result.get()
            } else {
                try writer.columns[column].appendBytes(UnsafeRawBufferPointer(start: s.base + start, count: count))
            }
        case .int32, .int64:
            guard let span = s.scanNumber() else { throw mismatch("a \(s.kindName) where an integer belongs") }
            guard let value = parseInteger(s.base + span.start, span.count) else {
                if span.isInteger {
                    throw ParquetError(.valueOutOfRange, "an integer outside the int64 range", column: name(column))
                }
                throw mismatch("a number with a fraction or exponent")
            }
            if type == .int32 {
                guard let narrow = Int32(exactly: value) else {
                    throw ParquetError(.valueOutOfRange, "an integer outside the int32 range", column: name(column))
                }
                writer.columns[column].appendInt32(narrow)
            } else {
                writer.columns[column].appendInt64(value)
            }
        case .double:
            guard let span = s.scanNumber() else { throw mismatch("a \(s.kindName) where a number belongs") }
            writer.columns[column].appendDouble(parseDouble(s.base + span.start, span.count))
        case .boolean:
            if first == UInt8(ascii: "t") {
                try s.literal("true")
                writer.columns[column].appendBool(true)
            } else if first == UInt8(ascii: "f") {
                try s.literal("false")
                writer.columns[column].appendBool(false)
            } else {
                throw mismatch("a \(s.kindName) where a boolean belongs")
            }
        case .date:
            guard first == UInt8(ascii: "\"") else { throw mismatch("a \(s.kindName) where a date string belongs") }
            let (start, count, _) = try s.scanString()
            guard let days = DateText.days(s.base + start, count), let narrow = Int32(exactly: days) else {
                throw ParquetError(.invalidDate, "text that is not a yyyy-MM-dd date", column: name(column))
            }
            writer.columns[column].appendInt32(narrow)
        case .timestampMillis:
            if first == UInt8(ascii: "\"") {
                let (start, count, _) = try s.scanString()
                guard let millis = DateText.milliseconds(s.base + start, count) else {
                    throw ParquetError(
                        .invalidTimestamp, "text that is not an ISO 8601 date-time to the millisecond",
                        column: name(column))
                }
                writer.columns[column].appendInt64(millis)
            } else if let span = s.scanNumber(), let millis = parseInteger(s.base + span.start, span.count) {
                writer.columns[column].appendInt64(millis)
            } else {
                throw mismatch("a \(s.kindName) where a timestamp belongs")
            }
        case .decimal(let precision, let scale):
            let start: Int
            let count: Int
            if first == UInt8(ascii: "\"") {
                let string = try s.scanString()
                (start, count) = (string.start, string.count)
            } else if let span = s.scanNumber() {
                (start, count) = (span.start, span.count)
            } else {
                throw mismatch("a \(s.kindName) where a decimal belongs")
            }
            switch Decimal128.parse(UnsafeBufferPointer(start: s.base + start, count: count), precision: precision, scale: scale) {
            case .success(let unscaled): try writer.columns[column].appendDecimal(unscaled, precision: precision)
            case .failure(let failure):
                throw ParquetError(decimal: failure, precision: precision, scale: scale, column: name(column))
            }
        }
    }
}

// MARK: - Numbers

/// An integer without fraction or exponent, or nil (also on overflow).
@inline(__always)
func parseInteger(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int64? {
    var i = 0
    var negative = false
    if count > 0 && p[0] == UInt8(ascii: "-") {
        negative = true
        i = 1
    }
    guard i < count else { return nil }
    var value: UInt64 = 0
    while i < count {
        let digit = p[i] &- UInt8(ascii: "0")
        guard digit < 10 else { return nil }
        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times10.addingReportingOverflow(UInt64(digit))
        guard !o1 && !o2 else { return nil }
        value = sum
        i += 1
    }
    if negative {
        guard value <= UInt64(Int64.max) + 1 else { return nil }
        return value == UInt64(Int64.max) + 1 ? Int64.min : -Int64(value)
    }
    guard value <= UInt64(Int64.max) else { return nil }
    return Int64(value)
}

private let exactPowersOfTen: [Double] = (0...22).map { exponent in
    var value = 1.0
    for _ in 0..<exponent { value *= 10 }
    return value
}

/// A JSON number (already checked by the scanner) as the nearest double. Numbers with at most 15
/// significant digits and a small exponent are converted exactly by one multiplication or
/// division (both operands exact); everything else goes through the standard library.
@inline(__always)
func parseDouble(_ p: UnsafePointer<UInt8>, _ count: Int) -> Double {
    var i = 0
    var negative = false
    if p[0] == UInt8(ascii: "-") {
        negative = true
        i = 1
    }
    var mantissa: UInt64 = 0
    var digits = 0
    var exponent = 0
    var slow = false
    while i < count, case let d = p[i] &- UInt8(ascii: "0"), d < 10 {
        mantissa = mantissa &* 10 &+ UInt64(d)
        if mantissa != 0 { digits += 1 }
        i += 1
    }
    if i < count && p[i] == UInt8(ascii: ".") {
        i += 1
        while i < count, case let d = p[i] &- UInt8(ascii: "0"), d < 10 {
            mantissa = mantissa &* 10 &+ UInt64(d)
            if mantissa != 0 { digits += 1 }
            exponent -= 1
            i += 1
        }
    }
    if i < count {
        slow = true  // an exponent: rare in extracts
    }
    if !slow && digits <= 15 && exponent >= -22 {
        let value = exponent == 0 ? Double(mantissa) : Double(mantissa) / exactPowersOfTen[-exponent]
        return negative ? -value : value
    }
    let text = String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self)
    return Double(text) ?? .nan
}

// MARK: - Dates and times

enum DateText {
    @inline(__always)
    static func digits(_ p: UnsafePointer<UInt8>, _ at: Int, _ width: Int) -> Int? {
        var value = 0
        for i in at..<(at + width) {
            let d = p[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            value = value * 10 + Int(d)
        }
        return value
    }

    static func daysInMonth(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since the epoch of `yyyy-MM-dd` at the start of `p` (exactly 10 bytes when `count` is 10).
    @inline(__always)
    static func days(_ p: UnsafePointer<UInt8>, _ count: Int, prefixOnly: Bool = false) -> Int64? {
        guard count >= 10, prefixOnly || count == 10, p[4] == UInt8(ascii: "-"), p[7] == UInt8(ascii: "-"),
            let year = digits(p, 0, 4), let month = digits(p, 5, 2), let day = digits(p, 8, 2),
            (1...12).contains(month), day >= 1, day <= daysInMonth(year, month)
        else { return nil }
        return Timestamp.days(fromCivil: year, month, day)
    }

    /// Milliseconds since the epoch of an ISO 8601 date-time; nil when malformed or when digits
    /// below the millisecond are not zero.
    static func milliseconds(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int64? {
        guard count >= 19, let days = days(p, count, prefixOnly: true),
            p[10] == UInt8(ascii: "T") || p[10] == UInt8(ascii: " ") || p[10] == UInt8(ascii: "t"),
            p[13] == UInt8(ascii: ":"), p[16] == UInt8(ascii: ":"),
            let hour = digits(p, 11, 2), let minute = digits(p, 14, 2), let second = digits(p, 17, 2),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var millis = 0
        if i < count && (p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: ",")) {
            i += 1
            var place = 100
            let start = i
            while i < count, case let d = p[i] &- UInt8(ascii: "0"), d < 10 {
                if place > 0 {
                    millis += Int(d) * place
                    place /= 10
                } else if d != 0 {
                    return nil  // finer than a millisecond: refuse rather than lose it
                }
                i += 1
            }
            guard i > start else { return nil }
        }
        var offsetMinutes = 0
        if i < count {
            let sign = p[i]
            if sign == UInt8(ascii: "Z") || sign == UInt8(ascii: "z") {
                i += 1
            } else if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                guard i + 3 <= count, let hours = digits(p, i + 1, 2) else { return nil }
                i += 3
                if i < count && p[i] == UInt8(ascii: ":") { i += 1 }
                guard i + 2 <= count, let minutes = digits(p, i, 2), hours < 24, minutes < 60 else { return nil }
                i += 2
                offsetMinutes = (hours * 60 + minutes) * (sign == UInt8(ascii: "-") ? -1 : 1)
            } else {
                return nil
            }
        }
        guard i == count else { return nil }
        let secondOfDay = Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return (days * 86_400 + secondOfDay) * 1000 + Int64(millis)
    }
}
