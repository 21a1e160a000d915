/// A writer for the Thrift compact protocol, just enough for Parquet's page headers and footer:
/// structs with delta-encoded field headers, zigzag varints, binaries and lists.
struct ThriftCompactWriter {
    enum FieldType: UInt8 {
        case boolTrue = 1
        case boolFalse = 2
        case byte = 3
        case i16 = 4
        case i32 = 5
        case i64 = 6
        case double = 7
        case binary = 8
        case list = 9
        case set = 10
        case map = 11
        case `struct` = 12
    }

    var bytes: [UInt8] = []
    /// The last field id written in the current struct, and those of the structs around it.
    private var lastField: Int16 = 0
    private var outer: [Int16] = []

    init() { bytes.reserveCapacity(256) }

    // MARK: Primitives

    mutating func varint(_ value: UInt64) { appendVarint(value, to: &bytes) }

    mutating func zigzag(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    private mutating func fieldHeader(_ id: Int16, _ type: FieldType) {
        let delta = id - lastField
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            zigzag(Int64(id))
        }
        lastField = id
    }

    // MARK: Fields

    mutating func i32(_ id: Int16, _ value: Int32) {
        fieldHeader(id, .i32)
        zigzag(Int64(value))
    }

    mutating func i64(_ id: Int16, _ value: Int64) {
        fieldHeader(id, .i64)
        zigzag(value)
    }

    mutating func bool(_ id: Int16, _ value: Bool) {
        fieldHeader(id, value ? .boolTrue : .boolFalse)
    }

    mutating func binary(_ id: Int16, _ value: [UInt8]) {
        fieldHeader(id, .binary)
        binaryElement(value)
    }

    mutating func string(_ id: Int16, _ value: String) { binary(id, Array(value.utf8)) }

    /// Starts a struct-typed field; close it with `structEnd()`.
    mutating func structBegin(_ id: Int16) {
        fieldHeader(id, .struct)
        structElementBegin()
    }

    /// Starts a struct that is a list element (no field header).
    mutating func structElementBegin() {
        outer.append(lastField)
        lastField = 0
    }

    /// Ends the current struct with a stop byte.
    mutating func structEnd() {
        bytes.append(0)
        lastField = outer.popLast() ?? 0
    }

    /// An empty struct as a field (Parquet's marker types: `StringType`, `DateType`, ...).
    mutating func emptyStruct(_ id: Int16) {
        structBegin(id)
        structEnd()
    }

    /// Starts a list-typed field of `count` elements of `type`; write the elements next.
    mutating func listBegin(_ id: Int16, _ type: FieldType, count: Int) {
        fieldHeader(id, .list)
        if count < 15 {
            bytes.append(UInt8(count) << 4 | type.rawValue)
        } else {
            bytes.append(0xF0 | type.rawValue)
            varint(UInt64(count))
        }
    }

    mutating func i32Element(_ value: Int32) { zigzag(Int64(value)) }

    mutating func binaryElement(_ value: [UInt8]) {
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Ends the top-level struct (the footer or a page header).
    mutating func finish() -> [UInt8] {
        bytes.append(0)
        return bytes
    }
}
