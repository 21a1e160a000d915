/// What one column holds of the row group being built: its definition levels and its non-null
/// values, either as dictionary indices (while the dictionary stays under its limit) or plain.
struct ColumnBuffer {
    let column: ParquetColumn
    let physical: PhysicalType
    /// Bytes of a fixed-length value (`FIXED_LEN_BYTE_ARRAY` decimals).
    let fixedLength: Int
    /// Bytes the dictionary's plain encoding may reach before the chunk falls back to plain.
    let dictionaryLimit: Int
    /// Whether this column tries dictionary encoding at all.
    let usesDictionary: Bool

    private(set) var rows = 0
    private(set) var nullCount = 0
    /// One per row when the column is nullable: 1 for a value, 0 for a null.
    var levels: [UInt8] = []

    // Plain values (non-null only), by physical type.
    var bools: [UInt8] = []
    var int32s: [Int32] = []
    var int64s: [Int64] = []
    var doubles: [Double] = []
    var wides: [Int128] = []
    var bytes: [UInt8] = []
    /// `ends[i]` is where byte-array value i stops in `bytes`.
    var ends: [Int] = []

    // Dictionary encoding.
    private(set) var dictionaryActive: Bool
    var indices: [UInt32] = []
    var numericDictionary = NumericDictionary()
    var bytesDictionary = BytesDictionary()
    /// The row whose value last added a dictionary entry (so that removing the row removes it).
    private var newEntryRow = -1
    /// When the dictionary is next weighed against plain encoding (a value count).
    private var nextPayoffCheck = ColumnBuffer.firstPayoffCheck
    /// The plain-encoded size of the byte-array values taken by the dictionary so far.
    private var dictionaryPlainBytes = 0

    init(column: ParquetColumn, dictionaryLimit: Int, dictionaryEnabled: Bool) {
        self.column = column
        self.physical = column.type.physical
        self.fixedLength = column.type.fixedLength
        self.dictionaryLimit = dictionaryLimit
        self.usesDictionary =
            dictionaryEnabled && physical != .boolean && physical != .fixedLenByteArray
        self.dictionaryActive = usesDictionary
    }

    /// Non-null values held.
    var valueCount: Int { rows - nullCount }

    /// Bytes of the plain encoding of one value of a fixed-width type.
    var valueWidth: Int {
        switch physical {
        case .boolean: 1
        case .int32: 4
        case .int64, .double: 8
        case .byteArray: 0
        case .fixedLenByteArray: fixedLength
        }
    }

    /// The plain-encoded size of the dictionary.
    var dictionaryBytes: Int {
        physical == .byteArray
            ? bytesDictionary.bytes.count + 4 * bytesDictionary.count : numericDictionary.count * valueWidth
    }

    var dictionaryCount: Int { physical == .byteArray ? bytesDictionary.count : numericDictionary.count }

    /// Bits per dictionary index.
    var indexBitWidth: Int { max(1, Int.bitWidth - (dictionaryCount - 1).leadingZeroBitCount) }

    /// An estimate of the encoded (uncompressed) size of what is buffered.
    var estimatedBytes: Int {
        let levelBytes = column.nullable ? rows / 8 : 0
        if dictionaryActive {
            return levelBytes + dictionaryBytes + indices.count * indexBitWidth / 8
        }
        switch physical {
        case .boolean: return levelBytes + bools.count / 8
        case .byteArray: return levelBytes + bytes.count + 4 * ends.count
        default: return levelBytes + valueCount * valueWidth
        }
    }

    // MARK: Appending

    @inline(__always)
    mutating func present() {
        rows += 1
        if column.nullable { levels.append(1) }
    }

    /// Appends a null.
    /// - Throws: `nullInRequiredColumn` when the column is not nullable.
    @inline(__always)
    mutating func appendNull() throws(ParquetError) {
        guard column.nullable else {
            throw ParquetError(.nullInRequiredColumn, "a null in a column that is not nullable", column: column.name)
        }
        rows += 1
        nullCount += 1
        levels.append(0)
    }

    @inline(__always)
    mutating func appendBool(_ value: Bool) {
        present()
        bools.append(value ? 1 : 0)
    }

    /// Appends a present value to the dictionary, if it is in use.
    /// - Returns: false when the caller must store the value plain.
    @inline(__always)
    private mutating func appendToDictionary(_ pattern: UInt64) -> Bool {
        present()
        guard dictionaryActive else { return false }
        let before = numericDictionary.count
        indices.append(numericDictionary.index(of: pattern))
        if numericDictionary.count != before { dictionaryGrew() }
        return true
    }

    @inline(__always)
    mutating func appendInt32(_ value: Int32) {
        if !appendToDictionary(UInt64(UInt32(bitPattern: value))) { int32s.append(value) }
    }

    @inline(__always)
    mutating func appendInt64(_ value: Int64) {
        if !appendToDictionary(UInt64(bitPattern: value)) { int64s.append(value) }
    }

    @inline(__always)
    mutating func appendDouble(_ value: Double) {
        if !appendToDictionary(value.bitPattern) { doubles.append(value) }
    }

    @inline(__always)
    mutating func appendWide(_ value: Int128) {
        present()
        wides.append(value)
    }

    /// Appends a byte string (the caller has checked that it is valid UTF-8).
    /// - Throws: `invalidString` for a value of 2 GiB or more.
    @inline(__always)
    mutating func appendBytes(_ value: UnsafeRawBufferPointer) throws(ParquetError) {
        guard value.count < Int(Int32.max) else {
            throw ParquetError(.invalidString, "a string of 2 GiB or more", column: column.name)
        }
        present()
        if dictionaryActive {
            let before = bytesDictionary.count
            dictionaryPlainBytes &+= value.count + 4
            indices.append(bytesDictionary.index(of: value))
            if bytesDictionary.count != before { dictionaryGrew() }
        } else {
            bytes.append(contentsOf: value)
            ends.append(bytes.count)
        }
    }

    /// Appends a decimal's unscaled value in the storage its precision calls for.
    /// - Throws: `decimalOutOfPrecision` when it has more digits than the column allows.
    @inline(__always)
    mutating func appendDecimal(_ unscaled: Int128, precision: Int) throws(ParquetError) {
        guard Decimal128.fits(unscaled, precision: precision) else {
            throw ParquetError(.decimalOutOfPrecision, "more digits than decimal precision \(precision)", column: column.name)
        }
        switch physical {
        case .int32: appendInt32(Int32(truncatingIfNeeded: unscaled))
        case .int64: appendInt64(Int64(truncatingIfNeeded: unscaled))
        default: appendWide(unscaled)
        }
    }

    private mutating func dictionaryGrew() {
        newEntryRow = rows - 1
        if dictionaryBytes > dictionaryLimit {
            fallBackToPlain()
        } else if indices.count >= nextPayoffCheck {
            // Like parquet-mr: drop a dictionary that does not make the chunk clearly smaller
            // (ids, timestamps, free text), so such columns stop paying for hashing.
            nextPayoffCheck *= 2
            let plain = physical == .byteArray ? dictionaryPlainBytes : indices.count * valueWidth
            let encoded = dictionaryBytes + indices.count * indexBitWidth / 8
            if encoded * 5 > plain * 4 { fallBackToPlain() }
        }
    }

    /// The first value count at which the dictionary must show it pays off.
    static let firstPayoffCheck = 16_384

    /// Turns what the dictionary holds into plain values and stops using it for this chunk.
    mutating func fallBackToPlain() {
        guard dictionaryActive else { return }
        dictionaryActive = false
        switch physical {
        case .int32:
            let values = numericDictionary.values
            int32s.reserveCapacity(indices.count)
            for index in indices { int32s.append(Int32(bitPattern: UInt32(truncatingIfNeeded: values[Int(index)]))) }
        case .int64:
            let values = numericDictionary.values
            int64s.reserveCapacity(indices.count)
            for index in indices { int64s.append(Int64(bitPattern: values[Int(index)])) }
        case .double:
            let values = numericDictionary.values
            doubles.reserveCapacity(indices.count)
            for index in indices { doubles.append(Double(bitPattern: values[Int(index)])) }
        case .byteArray:
            let dictionary = bytesDictionary
            ends.reserveCapacity(indices.count)
            for index in indices {
                let i = Int(index)
                bytes.append(contentsOf: dictionary.bytes[dictionary.start(of: i)..<dictionary.ends[i]])
                ends.append(bytes.count)
            }
        case .boolean, .fixedLenByteArray:
            break
        }
        indices = []
        numericDictionary = NumericDictionary()
        bytesDictionary = BytesDictionary()
    }

    // MARK: Rolling back a partly appended row

    /// Removes the value (or null) of the last row; a dictionary entry that row added goes too.
    mutating func removeLastRow() {
        guard rows > 0 else { return }
        rows -= 1
        if column.nullable && levels.removeLast() == 0 {
            nullCount -= 1
            return
        }
        if dictionaryActive {
            indices.removeLast()
            if newEntryRow == rows {
                if physical == .byteArray {
                    bytesDictionary.truncate(to: bytesDictionary.count - 1)
                } else {
                    numericDictionary.truncate(to: numericDictionary.count - 1)
                }
                newEntryRow = -1
            }
            return
        }
        // Plain (possibly just fallen back, in which case the arrays hold every value so far).
        switch physical {
        case .boolean: bools.removeLast()
        case .int32: int32s.removeLast()
        case .int64: int64s.removeLast()
        case .double: doubles.removeLast()
        case .fixedLenByteArray: wides.removeLast()
        case .byteArray:
            ends.removeLast()
            bytes.removeSubrange((ends.last ?? 0)...)
        }
    }

    /// Empties the buffer for the next row group, keeping capacity, and tries the dictionary again.
    mutating func reset() {
        rows = 0
        nullCount = 0
        levels.removeAll(keepingCapacity: true)
        bools.removeAll(keepingCapacity: true)
        int32s.removeAll(keepingCapacity: true)
        int64s.removeAll(keepingCapacity: true)
        doubles.removeAll(keepingCapacity: true)
        wides.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        indices.removeAll(keepingCapacity: true)
        numericDictionary.removeAll()
        bytesDictionary.removeAll()
        newEntryRow = -1
        nextPayoffCheck = Self.firstPayoffCheck
        dictionaryPlainBytes = 0
        dictionaryActive = usesDictionary
    }
}
