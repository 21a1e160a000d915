#if _endian(big)
#error("the plain encoders copy host-order integers and assume a little-endian machine")
#endif

/// Parquet's value encodings: PLAIN and the RLE/bit-packed hybrid (levels and dictionary indices).
enum Encoding: Int32 {
    case plain = 0
    case rle = 3
    case rleDictionary = 8
}

enum Hybrid {
    /// Appends the RLE/bit-packed hybrid encoding of `values` (each below 2^bitWidth) to `out`:
    /// repeats of 8 or more become RLE runs; everything else bit-packed groups of 8.
    static func encode<T: FixedWidthInteger & UnsignedInteger>(
        _ values: UnsafeBufferPointer<T>, bitWidth: Int, into out: inout [UInt8]
    ) {
        let n = values.count
        guard n > 0 else { return }
        var i = 0
        var literalStart = 0
        while i < n {
            let value = values[i]
            var j = i + 1
            while j < n && values[j] == value { j += 1 }
            let run = j - i
            if run >= 8 {
                let pending = i - literalStart
                let pad = (8 - pending % 8) % 8
                if run - pad >= 8 {
                    if pending + pad > 0 {
                        bitPack(UnsafeBufferPointer(rebasing: values[literalStart..<(i + pad)]), bitWidth: bitWidth, into: &out)
                    }
                    repeatRun(UInt64(value), count: run - pad, bitWidth: bitWidth, into: &out)
                    literalStart = j
                }
            }
            i = j
        }
        if literalStart < n {
            bitPack(UnsafeBufferPointer(rebasing: values[literalStart..<n]), bitWidth: bitWidth, into: &out)
        }
    }

    /// One RLE run: a varint header `count << 1`, then the value in whole bytes.
    static func repeatRun(_ value: UInt64, count: Int, bitWidth: Int, into out: inout [UInt8]) {
        appendVarint(UInt64(count) << 1, to: &out)
        var value = value
        for _ in 0..<((bitWidth + 7) / 8) {
            out.append(UInt8(truncatingIfNeeded: value))
            value >>= 8
        }
    }

    /// Bit-packed groups of 8 values, least significant bit first; the last group is padded with zeros.
    static func bitPack<T: FixedWidthInteger & UnsignedInteger>(
        _ values: UnsafeBufferPointer<T>, bitWidth: Int, into out: inout [UInt8]
    ) {
        let groups = (values.count + 7) / 8
        appendVarint(UInt64(groups) << 1 | 1, to: &out)
        let start = out.count
        let total = groups * bitWidth
        out.append(contentsOf: repeatElement(0, count: total))
        out.withUnsafeMutableBufferPointer { buffer in
            var index = start
            var accumulator: UInt64 = 0
            var bits = 0
            for value in values {
                accumulator |= UInt64(value) << UInt64(bits)
                bits += bitWidth
                while bits >= 8 {
                    buffer[index] = UInt8(truncatingIfNeeded: accumulator)
                    index += 1
                    accumulator >>= 8
                    bits -= 8
                }
            }
            if bits > 0 { buffer[index] = UInt8(truncatingIfNeeded: accumulator) }
        }
    }
}

@inline(__always)
func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
    var value = value
    while value >= 0x80 {
        out.append(UInt8(truncatingIfNeeded: value) | 0x80)
        value >>= 7
    }
    out.append(UInt8(value))
}

@inline(__always)
func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
}

/// Copies the raw (little-endian) bytes of `values` to `out`.
@inline(__always)
func appendRaw<T>(_ values: ArraySlice<T>, to out: inout [UInt8]) {
    values.withUnsafeBytes { out.append(contentsOf: $0) }
}

/// The big-endian two's complement of `value` in its last `length` bytes (decimals in
/// `FIXED_LEN_BYTE_ARRAY`).
@inline(__always)
func appendBigEndian(_ value: Int128, length: Int, to out: inout [UInt8]) {
    for i in stride(from: length - 1, through: 0, by: -1) {
        out.append(UInt8(truncatingIfNeeded: value >> (8 * i)))
    }
}

func bigEndianBytes(_ value: Int128, length: Int) -> [UInt8] {
    var out = [UInt8]()
    appendBigEndian(value, length: length, to: &out)
    return out
}
