/// Exact decimal text to unscaled integers (no `Double` on the way), and the powers of ten the
/// precision checks need.
enum Decimal128 {
    static let powers: [Int128] = {
        var table = [Int128](repeating: 1, count: 39)
        for i in 1..<39 { table[i] = table[i - 1] * 10 }
        return table
    }()

    static func powerOfTen(_ exponent: Int) -> Int128 { powers[exponent] }

    /// Why text could not become a decimal of a given precision and scale.
    enum Failure: Error {
        case syntax, precision, scale
    }

    /// Parses `-123.4500`, `+7`, `.5`, `1.5e3`, `12E-2` into the unscaled value at `scale`.
    /// Trailing fraction zeros beyond the scale are accepted; any other extra digit is `.scale`.
    static func parse(_ text: UnsafeBufferPointer<UInt8>, precision: Int, scale: Int) -> Result<Int128, Failure> {
        if let small = parseSmall(text, precision: precision, scale: scale) { return .success(Int128(small)) }
        return parseAny(text, precision: precision, scale: scale)
    }

    private static let smallPowers: [Int64] = (0...18).map { exponent in
        var value: Int64 = 1
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// The common case in 64 bits: `[-]digits[.digits]` with at most `scale` fraction digits and
    /// at most 18 digits in all; nil for anything else (the general path decides).
    @inline(__always)
    private static func parseSmall(_ text: UnsafeBufferPointer<UInt8>, precision: Int, scale: Int) -> Int64? {
        var i = 0
        let n = text.count
        guard n > 0, n <= 19 else { return nil }
        let negative = text[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        var value: Int64 = 0
        var digits = 0
        var fraction = -1
        while i < n {
            let d = text[i] &- UInt8(ascii: "0")
            if d < 10 {
                value = value * 10 + Int64(d)
                digits += 1
                if fraction >= 0 { fraction += 1 }
            } else if text[i] == UInt8(ascii: ".") && fraction < 0 {
                fraction = 0
            } else {
                return nil
            }
            i += 1
        }
        let fractionDigits = max(0, fraction)
        guard digits > 0, fraction != 0, fractionDigits <= scale, digits + scale - fractionDigits <= 18 else { return nil }
        value *= smallPowers[scale - fractionDigits]
        guard value < smallPowers[min(precision, 18)] || precision > 18 else { return nil }
        return negative ? -value : value
    }

    private static func parseAny(_ text: UnsafeBufferPointer<UInt8>, precision: Int, scale: Int) -> Result<Int128, Failure> {
        var i = 0
        let n = text.count
        var negative = false
        if i < n && (text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+")) {
            negative = text[i] == UInt8(ascii: "-")
            i += 1
        }
        var value: Int128 = 0
        var significant = 0
        var pendingZeros = 0
        var fractionDigits = 0
        var digits = 0
        var inFraction = false
        while i < n {
            let byte = text[i]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digits += 1
                if inFraction { fractionDigits += 1 }
                if byte == UInt8(ascii: "0") {
                    if significant > 0 { pendingZeros += 1 }
                } else {
                    significant += pendingZeros + 1
                    if significant > 38 { return .failure(.precision) }
                    value = value * powers[pendingZeros + 1] + Int128(byte - UInt8(ascii: "0"))
                    pendingZeros = 0
                }
                i += 1
            } else if byte == UInt8(ascii: ".") && !inFraction {
                inFraction = true
                i += 1
            } else {
                break
            }
        }
        guard digits > 0 else { return .failure(.syntax) }
        var exponent = 0
        if i < n && (text[i] == UInt8(ascii: "e") || text[i] == UInt8(ascii: "E")) {
            i += 1
            var negativeExponent = false
            if i < n && (text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+")) {
                negativeExponent = text[i] == UInt8(ascii: "-")
                i += 1
            }
            let start = i
            while i < n && text[i] >= UInt8(ascii: "0") && text[i] <= UInt8(ascii: "9") {
                if exponent < 100_000 { exponent = exponent * 10 + Int(text[i] - UInt8(ascii: "0")) }
                i += 1
            }
            guard i > start else { return .failure(.syntax) }
            if negativeExponent { exponent = -exponent }
        }
        guard i == n else { return .failure(.syntax) }
        if value == 0 { return .success(0) }
        // value * 10^pendingZeros * 10^(exponent - fractionDigits) = unscaled * 10^-scale
        let shift = pendingZeros + exponent - fractionDigits + scale
        if shift < 0 {
            guard -shift <= 38 else { return .failure(.scale) }
            let divisor = powers[-shift]
            guard value % divisor == 0 else { return .failure(.scale) }
            value /= divisor
        } else if shift > 0 {
            guard significant + shift <= precision else { return .failure(.precision) }
            value *= powers[shift]
        }
        guard value < powers[precision] else { return .failure(.precision) }
        return .success(negative ? -value : value)
    }

    /// Whether an unscaled value has at most `precision` digits.
    @inline(__always)
    static func fits(_ unscaled: Int128, precision: Int) -> Bool {
        let limit = powers[precision]
        return unscaled < limit && unscaled > -limit
    }
}
