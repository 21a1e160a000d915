/// Somewhere bytes can be appended: a growable `ByteBuffer` or a `ByteCursor` over memory sized
/// in advance.
protocol ByteSink: ~Copyable {
    mutating func append(_ byte: UInt8)
    mutating func append(_ bytes: UnsafeRawBufferPointer)
}

extension Array: ByteSink where Element == UInt8 {
    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) { append(contentsOf: bytes) }
}

extension ByteSink where Self: ~Copyable {
    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func append(utf8 text: String) {
        withUTF8(text) { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends a non-negative integer in decimal.
    mutating func append(decimal value: Int) {
        if value >= 10 { append(decimal: value / 10) }
        append(UInt8(ascii: "0") + UInt8(value % 10))
    }
}

/// A growable byte buffer over one heap allocation, for building canonical requests without
/// `Array`'s per-append uniqueness and capacity checks. Non-copyable, so it owns its memory.
struct ByteBuffer: ByteSink, ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(16, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private mutating func grow(to minimum: Int) {
        let newCapacity = max(minimum, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count += 1
    }

    /// Appends a byte the caller has already reserved room for.
    @inline(__always)
    mutating func appendReserved(_ byte: UInt8) {
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        append(UnsafeRawBufferPointer(bytes))
    }

    /// Appends bytes `range` of this same buffer.
    @inline(__always)
    mutating func append(copyOf range: Range<Int>) {
        reserve(range.count)
        (base + count).update(from: base + range.lowerBound, count: range.count)
        count += range.count
    }

    /// Appends bytes `range` of `other`.
    @inline(__always)
    mutating func append(_ other: borrowing ByteBuffer, range: Range<Int>) {
        append(UnsafeBufferPointer(start: other.base + range.lowerBound, count: range.count))
    }

    mutating func truncate(to newCount: Int) {
        precondition(newCount <= count)
        count = newCount
    }

    @inline(__always)
    subscript(index: Int) -> UInt8 { base[index] }

    /// The bytes `range`; valid while the buffer is neither mutated nor destroyed.
    @inline(__always)
    func bytes(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    @inline(__always)
    func equal(_ lhs: Range<Int>, _ rhs: Range<Int>) -> Bool {
        lhs.count == rhs.count && (lhs.lowerBound == rhs.lowerBound || compareBytes(base, lhs, rhs) == 0)
    }

    var allBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    var array: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }
}

/// Byte-wise comparison of two ranges of `bytes`: negative, zero or positive.
@inline(__always)
func compareBytes(_ bytes: UnsafeMutablePointer<UInt8>, _ lhs: Range<Int>, _ rhs: Range<Int>) -> Int {
    let length = min(lhs.count, rhs.count)
    var index = 0
    while index < length {
        let l = bytes[lhs.lowerBound + index]
        let r = bytes[rhs.lowerBound + index]
        if l != r { return Int(l) - Int(r) }
        index += 1
    }
    return lhs.count - rhs.count
}

/// Writes into memory whose size the caller computed beforehand (for building a `String` in place).
struct ByteCursor: ByteSink {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress!
        capacity = buffer.count
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        precondition(count < capacity)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(count + bytes.count <= capacity)
        UnsafeMutableRawPointer(base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }
}
