/// Open-addressing hash tables that give each distinct value of a column chunk its dictionary
/// index, in order of first appearance.

@inline(__always)
func mix64(_ value: UInt64) -> UInt64 {
    var z = value &* 0x9E37_79B9_7F4A_7C15
    z ^= z >> 32
    z = z &* 0xD6E8_FEB8_6659_FD93
    return z ^ (z >> 32)
}

/// Distinct fixed-width values (32- or 64-bit patterns).
struct NumericDictionary {
    /// A slot keeps the value next to its index so that a probe touches one cache line.
    struct Slot {
        var value: UInt64
        /// Index + 1; 0 is empty.
        var entry: UInt32
    }

    private(set) var values: [UInt64] = []
    private var slots: [Slot]
    private var mask: Int

    init() {
        slots = [Slot](repeating: Slot(value: 0, entry: 0), count: 1024)
        mask = 1023
    }

    var count: Int { values.count }

    /// The index of `value`, adding it if new.
    @inline(__always)
    mutating func index(of value: UInt64) -> UInt32 {
        var slot = Int(truncatingIfNeeded: mix64(value)) & mask
        while true {
            let probe = slots[slot]
            if probe.entry == 0 { break }
            if probe.value == value { return probe.entry - 1 }
            slot = (slot + 1) & mask
        }
        values.append(value)
        slots[slot] = Slot(value: value, entry: UInt32(values.count))
        if values.count * 2 > mask { grow() }
        return UInt32(values.count - 1)
    }

    private mutating func grow() {
        mask = mask * 2 + 1
        rebuild()
    }

    private mutating func rebuild() {
        slots = [Slot](repeating: Slot(value: 0, entry: 0), count: mask + 1)
        for (index, value) in values.enumerated() {
            var slot = Int(truncatingIfNeeded: mix64(value)) & mask
            while slots[slot].entry != 0 { slot = (slot + 1) & mask }
            slots[slot] = Slot(value: value, entry: UInt32(index + 1))
        }
    }

    /// Forgets the entries from `count` on (a rolled-back row added them).
    mutating func truncate(to count: Int) {
        guard count < values.count else { return }
        values.removeSubrange(count...)
        rebuild()
    }

    mutating func removeAll() {
        values.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i].entry = 0 }
    }
}

/// Hashes a byte string (a few multiply-xor rounds over 8-byte words).
@inline(__always)
func hashBytes(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(bytes.count)
    var i = 0
    let n = bytes.count
    while i + 8 <= n {
        h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        i += 8
    }
    if i < n {
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0x9E37_79B9_7F4A_7C15
    }
    return mix64(h)
}

/// Distinct byte strings, stored back to back.
struct BytesDictionary {
    private(set) var bytes: [UInt8] = []
    /// `ends[i]` is where entry i stops in `bytes`.
    private(set) var ends: [Int] = []
    private var hashes: [UInt32] = []
    private var slots: [UInt32]
    private var mask: Int

    init() {
        slots = [UInt32](repeating: 0, count: 1024)
        mask = 1023
    }

    var count: Int { ends.count }

    func start(of index: Int) -> Int { index == 0 ? 0 : ends[index - 1] }

    /// The index of `value`, adding it if new.
    @inline(__always)
    mutating func index(of value: UnsafeRawBufferPointer) -> UInt32 {
        let hash = hashBytes(value)
        let tag = UInt32(truncatingIfNeeded: hash >> 32)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { break }
            let index = Int(entry) - 1
            if hashes[index] == tag && equals(index, value) { return UInt32(index) }
            slot = (slot + 1) & mask
        }
        bytes.append(contentsOf: value)
        ends.append(bytes.count)
        hashes.append(tag)
        slots[slot] = UInt32(ends.count)
        if ends.count * 2 > mask { grow() }
        return UInt32(ends.count - 1)
    }

    @inline(__always)
    private func equals(_ index: Int, _ value: UnsafeRawBufferPointer) -> Bool {
        let start = start(of: index)
        guard ends[index] - start == value.count else { return false }
        if value.isEmpty { return true }
        return bytes.withUnsafeBytes { stored in
            memcmpBytes(stored.baseAddress! + start, value.baseAddress!, value.count)
        }
    }

    private mutating func grow() {
        mask = mask * 2 + 1
        rebuild()
    }

    private mutating func rebuild() {
        slots = [UInt32](repeating: 0, count: mask + 1)
        for index in 0..<ends.count {
            // The low bits of the full hash are not kept: hash again from the stored bytes.
            let start = start(of: index)
            let hash = bytes.withUnsafeBytes { hashBytes(UnsafeRawBufferPointer(rebasing: $0[start..<ends[index]])) }
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = UInt32(index + 1)
        }
    }

    /// Forgets the entries from `count` on (a rolled-back row added them).
    mutating func truncate(to count: Int) {
        guard count < ends.count else { return }
        bytes.removeSubrange(start(of: count)...)
        ends.removeSubrange(count...)
        hashes.removeSubrange(count...)
        rebuild()
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = 0 }
    }
}

/// Whether `count` bytes at `a` and `b` are equal.
@inline(__always)
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
    var i = 0
    while i + 8 <= count {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < count {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}
